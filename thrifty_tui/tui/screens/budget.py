"""Budget dashboard: what is spent, each done rule's state, the verdict, and when to stop."""

from __future__ import annotations

import math

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, ProgressBar, Static
from textual_plotext import PlotextPlot

from thrifty_tui.core.errors import DataError
from thrifty_tui.core.events import Event, RunStarted
from thrifty_tui.core.policy.budget import MET, NOT_YET, RULE_LABELS, RULE_ORDER, Budget, show_score
from thrifty_tui.tui.budget_state import (
    BUDGET_EVENTS, parse_rules, rule_that_stopped, rules_text,
)
from thrifty_tui.tui.footer_fit import FittedFooter, SteadyFooter

STATE_STYLE = {MET: "bold green", NOT_YET: "yellow", "off": "dim", "not met": "dim yellow"}
EXTEND_FRACTION = 0.5  # "+" adds half the budget again (time and fits)


def setting_of(rule: str, budget: Budget) -> str:
    """What the user set for ``rule`` (the dashboard's 'set' column)."""
    value = {"target": budget.target_score, "min_improvement": budget.min_improvement,
             "max_fits": budget.max_fits, "wall": budget.wall_s, "patience": budget.patience,
             "noise_floor": budget.noise_floor}[rule]
    if value is None or value is False:
        return "—"
    if rule == "min_improvement":
        return f"{value:.0%}"
    if rule == "wall":
        return f"{value:g} s"
    if rule == "noise_floor":
        return f"on ({budget.window} fits)"
    if rule == "patience":
        return f"{value} fits"
    return f"{value:g}"


class RulesInput(Input):
    """The rules line: its Enter and Escape shown in the footer while it is open (the footer
    showed only F1 Help then)."""

    BINDINGS = [
        Binding("enter", "submit", "Set rules", id="budget-rules-set"),
        Binding("escape", "screen.leave_rules", "Back", id="budget-escape"),
    ]


class BudgetScreen(FittedFooter, Screen):
    """Gauges for time and fits, best-so-far over time, each rule, the verdict, the cost."""

    # Keys left out of the footer first when it would not fit 80 columns (they still work).
    FOOTER_DROP = ("runs", "label", "load", "board")
    FOOTER_COMPACT = True
    FOOTER_RESERVE = 14  # ^p palette
    # Nothing is focused on arrival: Textual's auto focus picked the hidden rules input, and a
    # focused input takes Enter (meant to accept the run's model). `r` focuses the input.
    AUTO_FOCUS = ""

    BINDINGS = [
        Binding("r", "edit_rules", "Rules", id="budget-rules"),
        Binding("v", "edit_value", "Value", id="budget-value"),
        Binding("plus", "extend", "Extend", id="budget-extend"),
        Binding("exclamation_mark", "stop_now", "Stop", id="budget-stop"),
        Binding("enter", "accept", "Accept", id="budget-accept"),
        Binding("escape", "leave_rules", "Back", show=False, id="budget-escape"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("[b]Budget[/b]  set the done rules with r, then s screens and tunes",
                     id="budget-title", classes="screen-title")
        with Horizontal(classes="gauge-row"):
            yield Static("time", classes="gauge-label")
            yield ProgressBar(id="time-gauge", show_eta=False, show_percentage=True)
            yield Static("", id="time-text", classes="gauge-text")
        with Horizontal(classes="gauge-row"):
            yield Static("fits", classes="gauge-label")
            yield ProgressBar(id="fits-gauge", show_eta=False, show_percentage=True)
            yield Static("", id="fits-text", classes="gauge-text")
        with Horizontal(id="budget-body"):
            yield PlotextPlot(id="best-plot")
            with Vertical(id="rules-pane"):
                yield DataTable(id="rules", cursor_type="none", show_cursor=False)
        yield Static("", id="verdict")
        yield Static("", id="cost")
        yield Static("", id="projection")
        yield RulesInput(placeholder="seconds=60 max_fits=200 target_score=0.7 "
                                     "min_improvement=0.2 patience=30 noise_floor=on "
                                     "price_per_cpu_hour=0.05",
                         id="rules-input", select_on_focus=False)
        yield SteadyFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#rules", DataTable)
        # Read-only: focused, it would take Enter ("accept") for its own row selection.
        table.can_focus = False
        table.add_column("rule", key="rule", width=20)
        table.add_column("next run", key="set", width=9)
        table.add_column("state", key="state", width=7)
        for rule in RULE_ORDER:
            table.add_row(RULE_LABELS[rule], "—", Text("off", style="dim"), key=rule)
        rules_input = self.query_one("#rules-input", Input)
        rules_input.display = False
        if not self.app.settings.animations:
            rules_input.cursor_blink = False
        self.app.engine_signal.subscribe(self, self.on_engine)
        self.render_state()

    # -- engine events ----------------------------------------------------------------------
    next_rules_shown = False  # rules edited after a run: the table shows them, not the run's

    def on_engine(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.next_rules_shown = False
        # The app folded the event into state.budget already (even while this screen was not
        # shown); here it is only drawn.
        if isinstance(event, BUDGET_EVENTS):
            self.render_state()

    # -- rendering ----------------------------------------------------------------------------
    def render_state(self) -> None:
        view = self.app.state.budget
        rules: Budget = self.app.state.rules
        update = view.update
        metric = view.metric or (update and "") or ""
        title = "[b]Budget[/b]  "
        if view.run_id is None:
            title += "no run yet: set the done rules with r, then s screens (and tunes)"
        else:
            phase = update.phase if update is not None else "starting"
            if view.finished is not None:
                phase = view.finished.status
            title += f"run {view.run_id} · {metric} · {phase}" + self._best_words(
                cell_len(f"Budget  run {view.run_id} · {metric} · {phase}"), metric)
        self.query_one("#budget-title", Static).update(title)
        wall = update.wall_s if update is not None else rules.wall_s
        elapsed = update.elapsed_s if update is not None else 0.0
        self._gauge("time", elapsed, wall, f"{elapsed:.0f} s", "s")
        fits = update.fits_started if update is not None else 0
        max_fits = update.max_fits if update is not None else rules.max_fits
        self._gauge("fits", fits, max_fits, f"{fits}", "")
        self._render_rules(rules)
        self._render_plot(metric, rules)
        self._render_verdict(metric)
        self._render_cost()
        self._render_projection(metric)

    def _best_words(self, used: int, metric: str) -> str:
        """" · best 0.699 <model>": the score first, the model's name cut to the title's room
        (at 80 columns the name pushed the score out)."""
        update = self.app.state.budget.update
        if update is None or not update.best_model:
            return ""
        score = show_score(update.best_score, metric)
        name, room = update.best_model, self.size.width - 2 - used - len(f" · best {score} ")
        if self.size.width and cell_len(name) > room:
            name = name[:max(room - 1, 3)].rstrip() + "…"
        return f" · best {score} [b]{escape(name)}[/b]"

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        self.render_state()

    def _gauge(self, name: str, value: float, limit: float | None, now: str, unit: str) -> None:
        bar = self.query_one(f"#{name}-gauge", ProgressBar)
        text = self.query_one(f"#{name}-text", Static)
        if limit:
            bar.display = True
            bar.update(total=float(limit), progress=min(float(value), float(limit)))
            text.update(f" {now} of {limit:g}{(' ' + unit) if unit else ''}", layout=False)
        else:
            bar.display = False  # (an indeterminate bar would pulse as if something ran)
            text.update(f"{now} · no limit", layout=False)  # a one-line row: no re-layout

    def _render_rules(self, rules: Budget) -> None:
        """The rules of the run shown (its limits as `+` left them, each rule's state; "not
        met" once it ended), or the next run's rules once they are edited after a run."""
        from dataclasses import replace

        table = self.query_one("#rules", DataTable)
        view = self.app.state.budget
        update = view.update
        shows_run = update is not None and not self.next_rules_shown
        states = {r.rule: r for r in update.rules} if shows_run else {}
        budget = rules
        if shows_run:
            budget = replace(view.rules or rules, wall_s=update.wall_s, max_fits=update.max_fits)
        table.columns["set"].label = Text("this run" if shows_run else "next run")
        ended = shows_run and view.finished is not None
        stopped_by = rule_that_stopped(self._stop_reason()) if ended else None
        for rule in RULE_ORDER:
            state = states.get(rule)
            label = state.state if state is not None else (
                "off" if setting_of(rule, budget) == "—" else NOT_YET)
            if ended and label != "off":
                # As the verdict says: the rule it names stopped the run, no other did (the
                # last states said "not yet" for a time budget stopped a second early).
                label = MET if rule == stopped_by or label == MET else "not met"
            table.update_cell(rule, "set", setting_of(rule, budget))
            table.update_cell(rule, "state", Text(label, style=STATE_STYLE.get(label, "")))

    def _render_plot(self, metric: str, rules: Budget) -> None:
        plot = self.query_one("#best-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        update = self.app.state.budget.update
        trace = list(update.trace) if update is not None else []
        sign = -1.0 if metric.startswith("neg_") else 1.0
        if trace:
            # A step line: the best holds until the next model beats it.
            xs, ys = [], []
            for i, (t, score) in enumerate(trace):
                if i:
                    xs.append(t)
                    ys.append(sign * trace[i - 1][1])
                xs.append(t)
                ys.append(sign * score)
            xs.append(max(update.elapsed_s, trace[-1][0]))
            ys.append(sign * trace[-1][1])
            plt.plot(xs, ys, marker="braille")
            plt.scatter([t for t, _ in trace], [sign * v for _, v in trace], marker="dot")
        if rules.target_score is not None and metric:
            target = rules.target_score
            plt.hline(abs(target) if metric.startswith("neg_") else target, "green")
        if update is not None and not math.isnan(update.baseline_score):
            plt.hline(sign * update.baseline_score, "gray")
        plt.title("best so far (green: target · gray: baseline)" if plot.size.width >= 48
                  else "best (target green, baseline gray)")  # a longer one is dropped
        plt.xlabel("seconds")
        plot.refresh()

    def _stop_reason(self) -> str:
        """The finished run's verdict: the budget's stop reason, else the run's."""
        view = self.app.state.budget
        if view.update is not None and view.update.stop_reason:
            return view.update.stop_reason
        return view.finished.stop_reason if view.finished is not None else ""

    def _render_verdict(self, metric: str) -> None:
        view = self.app.state.budget
        verdict = self.query_one("#verdict", Static)
        if view.finished is not None:
            f = view.finished
            reason = self._stop_reason()
            if f.status == "done":
                verdict.update(Text.assemble(("Done: ", "bold green"), reason,
                                             (" — Enter accepts the model and exports it",
                                              "dim")))
            else:
                verdict.update(Text.assemble((f"Stopped ({f.status}): ", "bold yellow"),
                                             reason or "—"))
        elif view.update is not None:
            reason = view.update.stop_reason
            if reason:
                verdict.update(Text.assemble(("Stopping: ", "bold yellow"), reason))
            else:
                waiting = ", ".join(f"{r.label} ({r.detail})" if r.detail else r.label
                                    for r in view.update.rules if r.state == NOT_YET)
                verdict.update(Text.assemble(
                    ("Running: ", "bold cyan"),
                    f"waiting for {waiting}" if waiting else
                    "no done rule set: screening runs to the end (r sets rules)"))
        else:
            verdict.update(Text("Rules: " + (rules_text(self.app.state.rules) or "none — "
                                             "screening only, no time limit"), style="dim"))

    _cost_lines = 1

    def _render_cost(self) -> None:
        update = self.app.state.budget.update
        cost_line = self.query_one("#cost", Static)
        if update is None:
            cost_line.update("", layout=False)
            return
        c = update.cost
        cpu = f"{c.cpu_s:.1f} CPU-s"
        if c.money is not None and c.price_per_cpu_hour is not None:  # the price first
            cpu = f"{c.money:.4f} ({cpu} at {c.price_per_cpu_hour:g}/CPU-h)"
        trials = self.app.state.budget.trials
        tuned = f" · {len(trials)} trials" if trials else ""
        from thrifty_tui.tui.screens.diagnostics_side import value_gained

        text = (f"[b]Cost[/b] {cpu} · {c.wall_s:.1f} s wall · peak {c.peak_mb:.0f} MB{tuned}"
                f"{value_gained(self.app.state)}")
        # One line while it fits (no re-layout per update); two when the value part is added.
        lines = 1 if cell_len(Text.from_markup(text).plain) <= self.size.width - 2 else 2
        cost_line.update(text, layout=lines != self._cost_lines)
        self._cost_lines = lines

    def _render_projection(self, metric: str) -> None:
        ready = self.app.state.budget.projection
        line = self.query_one("#projection", Static)
        if ready is None:
            line.update("[b]Would more help?[/b] [dim]after screening, from the leader's "
                        "learning curve[/dim]")
            return
        p = ready.projection
        points = " · ".join(
            f"{pt.rows:,} rows → {show_score(pt.score, metric)} [{show_score(pt.low, metric)}–"
            f"{show_score(pt.high, metric)}]" for pt in p.points if not math.isnan(pt.score))
        line.update(Text.assemble(("Would more help? ", "bold"), f"{p.model}: {p.advice}",
                                  ("\n" + points) if points else ""))

    # -- actions ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.app.state.budget
        # Hidden, not greyed, when they cannot run: the footer must fit 80 columns.
        if action in ("extend", "stop_now"):
            return view.running
        if action == "accept":
            return self.app.state.can_export
        return True

    def action_edit_rules(self) -> None:
        rules_input = self.query_one("#rules-input", Input)
        rules_input.value = rules_text(self.app.state.rules)
        rules_input.display = True
        rules_input.focus()

    editing = "rules"  # what the input line edits: the done rules (r) or the cost matrix (v)

    def action_edit_value(self) -> None:
        """Edit what a prediction is worth: the cost matrix of the cost curve, the leaderboard's
        expected cost and the exported bundle's threshold."""
        from thrifty_tui.tui.screens.diagnostics_side import cost_words

        rules_input = self.query_one("#rules-input", Input)
        self.editing = "value"
        rules_input.value = cost_words(self.app.state)
        rules_input.placeholder = ("false_positive=1 false_negative=10 true_positive=0 "
                                   "true_negative=0 per_unit_error=0.5")
        rules_input.display = True
        rules_input.focus()

    def action_leave_rules(self) -> None:
        rules_input = self.query_one("#rules-input", Input)
        rules_input.display = False
        self.set_focus(None)

    def on_input_submitted(self, message: Input.Submitted) -> None:
        if message.input.id != "rules-input":
            return
        if self.editing == "value":
            self._set_value(message.value)
            return
        try:
            self.app.state.rules = parse_rules(message.value)
        except DataError as err:
            self.notify(str(err), title="Rules not changed", severity="error")
            return
        self.action_leave_rules()
        self.next_rules_shown = self.app.state.budget.finished is not None
        shown_rules = rules_text(self.app.state.rules)
        self.notify(shown_rules or "no rules: screening only, no time limit",
                    title="Rules for the next run")
        self.render_state()

    def _set_value(self, text: str) -> None:
        from thrifty_tui.tui.screens.diagnostics_side import parse_cost

        try:
            self.app.state.cost = parse_cost(text)
        except DataError as err:
            self.notify(str(err), title="Costs not changed", severity="error")
            return
        self.editing = "rules"
        self.action_leave_rules()
        self.notify(text.strip() or "no costs: each error costs 1", title="What a prediction "
                    "is worth")
        self.render_state()

    def action_extend(self) -> None:
        update = self.app.state.budget.update
        extra_s = (update.wall_s or 0.0) * EXTEND_FRACTION if update is not None else 0.0
        extra_fits = int((update.max_fits or 0) * EXTEND_FRACTION) if update is not None else 0
        if not extra_s and not extra_fits:
            self.notify("this run has no time or fit limit to extend", severity="warning")
            return
        self.app.worker.adjust_budget(extra_s=extra_s, extra_fits=extra_fits)
        self.notify(f"+{extra_s:.0f} s, +{extra_fits} fits", title="Budget extended")

    def action_stop_now(self) -> None:
        self.app.worker.adjust_budget(stop=True)
        self.notify("stopping: the best so far is refitted and kept", title="Stop now")

    def action_accept(self) -> None:
        self.app.action_export()


