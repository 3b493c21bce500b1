"""``cocoon-econ init``: write a documented starter scenario, or one of the shipped examples."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.core.errors import InputError


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "init", help="write a starter scenario (every field documented) or a shipped example",
        description="Write a scenario TOML to start from. Without --example: the documented starter "
                    "(every field with its unit, default and source). With --example NAME: one of the "
                    "shipped examples (--list names them). Without --out the TOML goes to standard output.")
    p.add_argument("--example", metavar="NAME", help="a shipped example scenario (see --list)")
    p.add_argument("--list", action="store_true", help="list the shipped example scenarios and exit")
    p.add_argument("--out", type=Path, metavar="FILE.toml", help="write here instead of standard output")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analysis.core.resources import example_scenarios

    examples = example_scenarios()
    if args.list:
        import tomllib

        for name, path in examples.items():
            meta = tomllib.loads(path.read_text(encoding="utf-8"))
            print(f"{name:<22} {meta.get('description') or meta.get('name', '')}")
        return 0
    if args.example is None:
        from analysis.econ.starter import starter_toml

        text = starter_toml()
    elif args.example in examples:
        text = examples[args.example].read_text(encoding="utf-8")
    else:
        raise InputError(f"--example: no shipped example {args.example!r}; use one of {', '.join(examples)} "
                         "(cocoon-econ init --list)")
    if args.out is None:
        sys.stdout.write(text)
        return 0
    from analysis.core.outputs import check_output, write_output

    out: Path = args.out
    target = check_output("--out", out, "scenario.toml")  # a regular file; a symlink's target (issue 13)
    if target.exists() and not args.force:
        raise InputError(f"--out: {out} exists; choose another file or pass --force to overwrite it")
    write_output(target, text)
    print(f"wrote {out}; check it with: cocoon-econ breakeven --scenario {out}")
    return 0
