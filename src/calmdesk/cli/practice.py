"""`calmdesk practice`: role-play a difficult customer in the terminal, or play a script.

    calmdesk practice --list
    calmdesk practice SCENARIO --script FILE [--seed N] [--format json|text]
    calmdesk practice [SCENARIO] [--seed N]          (interactive)
    calmdesk practice --draft-from CONVERSATION.json [--id ID] [--name NAME ...]

No Django: the simulator is pure Python and starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from calmdesk.training import (
    PracticeError,
    PracticeResult,
    PracticeSession,
    Scenario,
    ScenarioError,
    Turn,
    find_scenario,
    load_scenarios,
    play_script,
)
from calmdesk.training.voice import ENV_MODEL, ENV_URL, ChatVoice, VoiceConfig

QUIT_WORDS = frozenset({"/quit", "/exit", "/q"})


def _voice(args: argparse.Namespace) -> ChatVoice | None:
    config = VoiceConfig.from_env()
    if args.llm_url:
        config = VoiceConfig(url=args.llm_url, api_key=config.api_key if config else None)
    if config is None:
        return None
    if args.llm_model:
        config = replace(config, model=args.llm_model)
    return ChatVoice(config)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "practice",
        help="role-play a difficult customer and get feedback on every reply",
        description=(
            "Practise on a simulated difficult customer. Without --script the session is "
            "interactive: type your replies, see how the customer reacts and what helped or "
            "hurt, and get a scored report at the end. With --script, the replies are read "
            "from FILE (one per line) and the result printed."
        ),
    )
    parser.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario id (see --list)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--script",
        metavar="FILE",
        help="play the trainee replies in FILE, one per line ('-' = stdin)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="variation seed (default 0)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "--scenarios", metavar="DIR", help="read scenarios from DIR instead of the shipped ones"
    )
    parser.add_argument(
        "--draft-from",
        metavar="FILE",
        help="print an anonymised scenario draft (TOML) made from a conversation: a JSON list "
        'of {"role": "customer"|"agent", "text": ...}',
    )
    parser.add_argument(
        "--llm-url",
        metavar="URL",
        help="write the customer's lines through this OpenAI-compatible chat endpoint "
        f"(default: ${ENV_URL}; off when unset). The simulation still decides mood and outcome.",
    )
    parser.add_argument("--llm-model", metavar="NAME", help=f"model name (default: ${ENV_MODEL})")
    parser.add_argument("--id", metavar="ID", help="the drafted scenario's id")
    parser.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="NAME",
        help="a person's name to anonymise in the draft (repeatable)",
    )
    parser.set_defaults(handler=run)


def _fail(message: str) -> int:
    print(f"calmdesk practice: {message}", file=sys.stderr)
    return 2


def _draft(args: argparse.Namespace) -> int:
    from calmdesk.training.drafting import draft_scenario, messages_from_json

    try:
        raw = Path(args.draft_from).read_text(encoding="utf-8")
        messages = messages_from_json(json.loads(raw))
        print(draft_scenario(messages, scenario_id=args.id, names=args.name), end="")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {args.draft_from}: {exc}")
    except ValueError as exc:  # includes json.JSONDecodeError
        return _fail(f"{args.draft_from}: {exc}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.draft_from is not None:
        return _draft(args)
    try:
        scenarios = load_scenarios(args.scenarios)
    except ScenarioError as exc:
        return _fail(str(exc))
    if args.list:
        return _list(scenarios, args.format)
    console = Console(highlight=False)
    if args.script is not None:
        if not args.scenario:
            return _fail("--script needs a SCENARIO (see --list)")
        try:
            scenario = find_scenario(args.scenario, scenarios)
        except KeyError as exc:
            return _fail(str(exc.args[0]))
        try:
            if args.script == "-":
                lines = sys.stdin.read().splitlines()
            else:
                lines = Path(args.script).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            return _fail(f"cannot read {args.script}: {exc}")
        voice = _voice(args)
        try:
            result = play_script(scenario, lines, seed=args.seed, voice=voice)
        except PracticeError as exc:
            return _fail(str(exc))
        if voice is not None and voice.failures:
            print(
                f"calmdesk practice: the chat endpoint failed {voice.failures} time(s); "
                "the composed lines were used instead",
                file=sys.stderr,
            )
        if args.format == "json":
            print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            _print_result(console, result)
        return 0
    return _interactive(console, scenarios, args.scenario, args.seed, _voice(args))


def _list(scenarios: tuple[Scenario, ...], output: str) -> int:
    if output == "json":
        print(json.dumps([scenario.summary() for scenario in scenarios], indent=2))
        return 0
    table = Table(title="Practice scenarios")
    for column in ("id", "persona", "problem", "goal"):
        table.add_column(column, no_wrap=True)
    table.add_column("title")
    for scenario in scenarios:
        table.add_row(
            scenario.id,
            scenario.persona.type,
            scenario.problem,
            scenario.goal,
            escape(scenario.title),
        )
    Console(highlight=False).print(table)
    return 0


def _choose(console: Console, scenarios: tuple[Scenario, ...]) -> Scenario | None:
    for number, scenario in enumerate(scenarios, start=1):
        console.print(
            f"  [bold]{number:2d}[/bold]  {escape(scenario.title)} "
            f"[dim]({scenario.persona.type}, {scenario.problem})[/dim]"
        )
    while True:
        try:
            answer = input("Scenario number or id (/quit to leave): ").strip()
        except EOFError:
            return None
        if answer in QUIT_WORDS:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(scenarios):
            return scenarios[int(answer) - 1]
        for scenario in scenarios:
            if scenario.id == answer:
                return scenario
        console.print("[yellow]No such scenario; pick a number from the list.[/yellow]")


def _interactive(
    console: Console,
    scenarios: tuple[Scenario, ...],
    scenario_id: str | None,
    seed: int,
    voice: ChatVoice | None,
) -> int:
    if scenario_id:
        try:
            scenario = find_scenario(scenario_id, scenarios)
        except KeyError as exc:
            return _fail(str(exc.args[0]))
    else:
        chosen = _choose(console, scenarios)
        if chosen is None:
            return 0
        scenario = chosen
    session = PracticeSession(scenario, seed=seed, voice=voice)
    console.rule(f"[bold]{escape(scenario.title)}")
    console.print(f"[dim]{escape(scenario.situation)}[/dim]")
    console.print(
        f"[dim]You are the agent. The customer is {escape(scenario.persona.name)}. "
        "Type your reply and press Enter; /hint suggests the next step, /quit ends the "
        "session.[/dim]\n"
    )
    console.print(f"[bold red]Customer:[/bold red] {escape(session.opening)}")
    while not session.finished:
        try:
            text = input("You: ")
        except EOFError:
            break
        if text.strip() in QUIT_WORDS:
            break
        if text.strip() == "/hint":
            from calmdesk.engine.coaching import playbook

            console.print(
                f"[cyan]Hint: {escape(playbook(session.conversation).next_action)}[/cyan]"
            )
            continue
        try:
            turn = session.reply(text)
        except PracticeError as exc:
            console.print(f"[yellow]{escape(str(exc))}[/yellow]")
            continue
        _print_feedback(console, turn)
        console.print(f"[bold red]Customer:[/bold red] {escape(turn.customer)}")
    _print_report(console, session.result())
    return 0


def _signed(value: float) -> str:
    return f"{value:+.0f}"


def _print_feedback(console: Console, turn: Turn) -> None:
    delta = turn.delta
    console.print(
        f"  [dim]anger {turn.after.anger:.0f} ({_signed(delta['anger'])}), "
        f"trust {turn.after.trust:.0f} ({_signed(delta['trust'])}), "
        f"patience {turn.after.patience:.0f} ({_signed(delta['patience'])}) · "
        f"coach score {turn.reading.coach_score}[/dim]"
    )
    for effect in turn.helped:
        console.print(f"  [green]+ {escape(effect.note)}[/green]")
    for effect in turn.hurt:
        quote = f' [dim]"{escape(effect.quote)}"[/dim]' if effect.quote else ""
        console.print(f"  [red]- {escape(effect.note)}[/red]{quote}")


def _print_result(console: Console, result: PracticeResult) -> None:
    console.print(f"[bold red]Customer:[/bold red] {escape(result.opening)}")
    for turn in result.turns:
        console.print(f"[bold blue]You:[/bold blue] {escape(turn.reply)}")
        _print_feedback(console, turn)
        console.print(f"[bold red]Customer:[/bold red] {escape(turn.customer)}")
    _print_report(console, result)


def _print_report(console: Console, result: PracticeResult) -> None:
    report = result.report
    console.rule("[bold]Report")
    colour = "green" if report.overall >= 70 else "yellow" if report.overall >= 40 else "red"
    console.print(f"Outcome: [bold]{report.outcome.replace('_', ' ')}[/bold]")
    table = Table(show_header=True)
    table.add_column("rubric item")
    table.add_column("score", justify="right")
    for item, score in report.scores.items():
        table.add_row(item.replace("_", " "), str(score))
    table.add_row("[bold]overall[/bold]", f"[bold {colour}]{report.overall}[/bold {colour}]")
    console.print(table)
    if report.best:
        console.print(
            f'[green]Best moment[/green] (reply {report.best.turn}): "{escape(report.best.quote)}" '
            f"[dim]{escape(report.best.why)}[/dim]"
        )
    if report.worst:
        console.print(
            f'[red]Worst moment[/red] (reply {report.worst.turn}): "{escape(report.worst.quote)}" '
            f"[dim]{escape(report.worst.why)}[/dim]"
        )
    for suggestion in report.suggestions:
        console.print(f"  • {escape(suggestion)}")
