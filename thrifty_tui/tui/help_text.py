"""What each key does, by binding id, and the command line that does the same headless.

The help screen (``?`` or F1) lists the keys of the screen below it from its live bindings, so
a key remapped in thrifty.toml's ``[keymap]`` shows as remapped; this table adds the words.
"""

from __future__ import annotations

# binding id -> (what it does, the CLI equivalent or "")
KEY_HELP: dict[str, tuple[str, str]] = {
    "quit": ("quit (a run in progress is cancelled, its child processes stopped)", ""),
    "load": ("the Load screen: choose the file, the target, roles and sample size",
             "thrifty-tui profile PATH"),
    "board": ("the Leaderboard of the current or last run", "thrifty-tui inspect BUNDLE"),
    "screen": ("screen the model zoo on the chosen target (cross-validated, raced)",
               "thrifty-tui run PATH --target COL"),
    "cancel": ("cancel the running screening or load (child processes stopped at once)", ""),
    "export": ("export the best model as a bundle (asks for the file name)",
               "thrifty-tui run PATH --target COL --export BUNDLE"),
    "label": ("the Label screen: label rows by hand, one key each",
              "thrifty-tui label PATH --labels a,b"),
    "budget": ("the Budget dashboard: done rules, time and fits spent, the verdict",
               "thrifty-tui run … --budget S --max-fits N --target-score X"),
    "runs": ("every run of the workspace; Enter exports the highlighted run's best",
             "thrifty-tui runs [--json]"),
    "help": ("this help (Escape closes it)", "thrifty-tui COMMAND --help"),
    "screenshot": ("save an SVG screenshot (thrifty.toml's screenshot_dir)", ""),
    # Load
    "open": ("open another file: a path with completion, or Tab to the folder tree",
             "thrifty-tui open PATH [--target COL]"),
    "task": ("task: auto → classification → regression", "run … --task classification"),
    "role": ("role of the highlighted column: numeric → category → text → date → id-like",
             ""),
    "sample-size": ("screen all rows or a seeded sample, with its memory and time estimate",
                    "run … --sample ROWS"),
    "cancel-load": ("cancel the load in progress", ""),
    "back": ("back: leave the file picker, or the plots to the board", ""),
    # Leaderboard
    "diagnose": ("diagnostics of the highlighted model (← → switch plots)",
                 "thrifty-tui inspect BUNDLE"),
    "sort": ("sort by arrival → score → fit time (the highlighted model stays highlighted)",
             ""),
    "weak": ("hide or show dropped, failed, timed-out and skipped rows", ""),
    # Diagnostics
    "next-plot": ("the next plot", ""),
    "prev-plot": ("the previous plot", ""),
    "next-item": ("partial dependence: the next column; why this row: the next held-out row",
                  "thrifty-tui predict BUNDLE FILE --explain K"),
    "prev-item": ("the previous column or row", ""),
    # Budget
    "budget-rules": ("set the done rules of the next run (seconds=60 max_fits=200 …)",
                     "run … --budget S --max-fits N --patience N --noise-floor"),
    "budget-value": (("what a prediction is worth: false_positive=1 false_negative=10 … "
                      "(the cost curve, the value line, the bundle's threshold)"),
                     "run … --cost-fp X --cost-fn Y; thrifty.toml [cost]"),
    "budget-extend": ("while a run goes: add 50 % to its time and fit limits", ""),
    "budget-stop": ("stop now, keeping and refitting the best so far", ""),
    "budget-accept": ("accept the finished run's model and export it", "run … --export BUNDLE"),
    "budget-escape": ("close the rules line", ""),
    "budget-rules-set": ("set the rules typed for the next run", "run … --budget S …"),
    # Label
    "label-undo": ("undo, as far back as the session goes", ""),
    "label-skip": ("skip: the item comes back later", ""),
    "label-unsure": ("mark unsure", ""),
    "label-flag": ("flag a bad record", ""),
    "label-next": ("jump to the next unlabeled item", ""),
    "label-search": ("search (the term is highlighted); Escape clears", ""),
    "label-goal": ("set a goal: the ETA shows beside labels per minute", ""),
    "label-add": ("add a label (name:hint adds a hint)", "label … --labels a:hint,b"),
    "label-edit": ("+new adds · old=new renames · a+b=into merges (undoable)", ""),
    "label-screen": ("screen models on the labels: they become the target",
                     "thrifty-tui labels export -o OUT.csv"),
    "label-clear": ("close the prompt, clear the search", ""),
    "label-help": ("this help", ""),
    # Runs
    "runs-export": ("export the highlighted run's best model", "thrifty-tui runs --json"),
    "runs-close": ("back", ""),
    # Export
    "export-cancel": ("close the dialog (a write already started goes on)", ""),
}

COMMANDS = (
    ("thrifty-tui open PATH [--target COL]", "open the app on a file"),
    ("thrifty-tui run PATH --target COL [--export B]", "screen and export headless"),
    ("thrifty-tui runs [--json]", "every run of the workspace"),
    ("thrifty-tui predict BUNDLE PATH [-o OUT]", "predictions from a bundle"),
    ("thrifty-tui inspect BUNDLE [--json]", "verify and describe a bundle"),
    ("thrifty-tui label PATH --labels a,b", "label rows"),
)


def key_help(binding_id: str | None, description: str) -> tuple[str, str]:
    """(what, CLI equivalent) of a binding; its footer description when the table lacks it."""
    if binding_id is not None and binding_id.startswith("label-") and binding_id[6:].isdigit():
        return (f"label the item with label {binding_id[6:]} and go to the next one", "")
    return KEY_HELP.get(binding_id or "", (description.lower(), ""))
