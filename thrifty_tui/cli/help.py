"""The CLI's help: every command's --help ends with an example; subcommands show --workspace."""

from __future__ import annotations

import argparse
from typing import Any

EXAMPLES = {
    None: "examples:\n  thrifty-tui                               the app on the bundled sample\n"
          "  thrifty-tui open data.csv --target churn  the app on your file\n"
          "  thrifty-tui run data.csv --target churn --budget 60 --export churn.thrifty.zip",
    "open": "example:\n  thrifty-tui open sample_data/movies.csv --target Comedy",
    "run": "examples:\n  thrifty-tui run sample_data/movies.csv --target Comedy --budget 30\n"
           "  thrifty-tui run data.csv --target price --metric rmse --export price.thrifty.zip"
           " --json\n"
           "  thrifty-tui run data.csv --target churn --dask tcp://10.0.0.5:8786"
           " --dask-fallback local   (docs/scaling.md)",
    "predict": "example:\n  thrifty-tui predict churn.thrifty.zip new.csv -o predictions.csv",
    "runs": "examples:\n  thrifty-tui runs\n  thrifty-tui runs --json --workspace ./ws",
    "profile": "examples:\n  thrifty-tui profile sample_data/gss_wages.csv --target gender\n"
               "  thrifty-tui profile big.parquet --quick --json",
    "sample": "example:\n  thrifty-tui sample big.csv --rows 20000 --stratify label -o small.parquet",
    "inspect": "examples:\n  thrifty-tui inspect churn.thrifty.zip\n"
               "  thrifty-tui inspect churn.thrifty.zip --json",
    "export-mlflow": "example:\n  thrifty-tui export-mlflow churn.thrifty.zip mlflow-churn/",
    "label": "examples:\n  thrifty-tui label reviews.csv --labels pos,neg\n"
             "  thrifty-tui label reviews.csv --labels 'spam:unwanted,ham' --name spam",
    "labels": "examples:\n  thrifty-tui labels export -o labels.csv\n  thrifty-tui labels info",
    "export": "example:\n  thrifty-tui labels export -o labels.jsonl",
    "info": "example:\n  thrifty-tui labels info --workspace ./ws",
}


def add_examples(parser: argparse.ArgumentParser) -> None:
    """Every subcommand's --help ends with an example (nested ones too)."""
    for action in parser._actions:  # argparse keeps subparsers here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if not sub.epilog and name in EXAMPLES:
                    sub.epilog = EXAMPLES[name]
                    sub.formatter_class = argparse.RawDescriptionHelpFormatter
                add_examples(sub)


def subparser(sub: Any, name: str, help_text: str, example: str | None = None,
              workspace: bool = True) -> argparse.ArgumentParser:
    """A subcommand with its one-line help, an example under --help, and --workspace."""
    parser = sub.add_parser(name, help=help_text, description=help_text[:1].upper()
                            + help_text[1:] + ".", epilog=example or EXAMPLES.get(name),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    if workspace:
        parser.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS,
                            help="workspace folder: SQLite runs and artifacts (default "
                                 "./thrifty-workspace, or $THRIFTY_WORKSPACE)")
    return parser
