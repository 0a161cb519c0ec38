"""`pbx ivr ...`: validate, simulate, apply, versions, show, diff, activate, prompts.

    pbx ivr validate FILE...
    pbx ivr simulate FILE... --did N [--caller N] [--digits 1,2] [--at ISO] [--lookup-json F]
    pbx ivr apply FILE... [--tenant default] [--user NAME] [--comment TEXT] [--no-sound-check]
    pbx ivr versions [--tenant default]
    pbx ivr show N [--tenant default]
    pbx ivr diff A B [--tenant default]
    pbx ivr activate N [--tenant default]
    pbx ivr prompts FILE... --out SOUNDS_DIR [--chroot ROOT] [--languages en,ar] [--overwrite]

`add_commands(subparsers)` adds them to the `pbx` parser; each sets `func(args, settings)`.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pbx_stasis.ivr.errors import FlowSetInvalid
from pbx_stasis.ivr.simulate_args import simulate_parser
from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.config import Settings
    from pbx_stasis.ivr.model import FlowSet
    from pbx_stasis.ivr.service import IvrService
    from pbx_stasis.store import Database

MAX_SYMLINK_HOPS = 40


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `pbx ivr ACTION ...` to the `pbx` command line."""
    ivr = subparsers.add_parser(
        "ivr", help="IVR flows: validate, simulate, apply versions, generate prompts"
    )
    actions = ivr.add_subparsers(dest="ivr_command", required=True, metavar="ACTION")

    validate = actions.add_parser("validate", help="check flow files; every mistake is listed")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument(
        "--tenant",
        help="check as this tenant: its lookups may reach internal addresses when "
        "[ivr] internal_lookups lists it (default: public addresses only)",
    )
    validate.set_defaults(func=_validate)

    simulate = actions.add_parser(
        "simulate",
        parents=[simulate_parser()],
        add_help=False,
        help="walk a call through flows without Asterisk",
        description=simulate_parser().description,
    )
    simulate.set_defaults(func=_simulate)

    apply = actions.add_parser(
        "apply", help="store flow files as the tenant's new version; new calls use it at once"
    )
    apply.add_argument("files", nargs="+", metavar="FILE", help="the whole set of flow files")
    commands.tenant_argument(apply)
    apply.add_argument("--user", help="who applies it (default: the login name)")
    apply.add_argument("--comment", help="what changed, shown by `pbx ivr versions`")
    apply.add_argument(
        "--no-sound-check",
        action="store_true",
        help="do not ask Asterisk whether the sound files exist",
    )
    apply.set_defaults(func=_apply)

    versions = actions.add_parser("versions", help="list the tenant's versions, newest first")
    commands.tenant_argument(versions)
    versions.set_defaults(func=_versions)

    show = actions.add_parser("show", help="print the flow files of a version")
    show.add_argument("number", type=int, metavar="N")
    commands.tenant_argument(show)
    show.set_defaults(func=_show)

    diff = actions.add_parser("diff", help="unified diff between two versions")
    diff.add_argument("old", type=int, metavar="A")
    diff.add_argument("new", type=int, metavar="B")
    commands.tenant_argument(diff)
    diff.set_defaults(func=_diff)

    activate = actions.add_parser("activate", help="serve an earlier version again (rollback)")
    activate.add_argument("number", type=int, metavar="N")
    commands.tenant_argument(activate)
    activate.set_defaults(func=_activate)

    prompts = actions.add_parser(
        "prompts", help="speak the flows' prompt texts into sound files (espeak-ng + sox)"
    )
    prompts.add_argument("files", nargs="+", metavar="FILE")
    prompts.add_argument(
        "--out", help="Asterisk's sounds directory; files go to OUT/<lang>/<file>.wav"
    )
    prompts.add_argument(
        "--chroot",
        help="OUT lies inside this root (e.g. the sandbox's PBX_SANDBOX_ROOT): its absolute "
        "symlinks are followed inside it",
    )
    prompts.add_argument("--languages", help="comma separated, default: all")
    prompts.add_argument("--overwrite", action="store_true", help="replace existing files")
    prompts.add_argument(
        "--list", action="store_true", help="only list language, prompt, file, text"
    )
    prompts.set_defaults(func=_prompts)


# --- offline commands -------------------------------------------------------------------------


# The flows' loader, interpreter and prompt generator load when a command runs, not when `pbx`
# builds its parser.
def _validate(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.ivr.simulate import validate_main

    return validate_main(
        args.files, internal_lookups=args.tenant in settings.ivr.internal_lookups
    )


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.ivr.simulate import simulate_command

    return simulate_command(args)


def _prompts(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.ivr.loader import load_flowset, read_sources
    from pbx_stasis.ivr.prompts import PromptGenerationFailed, prompt_files

    languages = args.languages.split(",") if args.languages else None
    try:
        flowset = load_flowset(read_sources(args.files))
    except FlowSetInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    if args.list:
        for need in prompt_files(flowset, languages):
            print(f"{need.language}\t{need.name}\t{need.file}\t{need.text or '(record it)'}")
        return 0
    if not args.out:
        print("--out is needed unless --list", file=sys.stderr)
        return 2
    try:
        written = install_prompts(
            flowset,
            Path(args.out),
            chroot=Path(args.chroot) if args.chroot else None,
            languages=languages,
            overwrite=args.overwrite,
        )
    except (PromptGenerationFailed, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    for need in prompt_files(flowset, languages):
        if need.text is None:
            print(f"record {need.relative_path} yourself (no text)", file=sys.stderr)
    print(f"{len(written)} prompt file(s) written", file=sys.stderr)
    return 0


def install_prompts(
    flowset: FlowSet,
    sounds_dir: Path,
    *,
    chroot: Path | None = None,
    languages: Iterable[str] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Generate the flows' prompts that are missing in Asterisk's `sounds_dir` (as
    `<lang>/<file>.wav`); the files written. Existing files (recorded prompts) are kept unless
    `overwrite`.

    With `chroot`, `sounds_dir` lies inside that root and absolute symlinks met on the way are
    followed inside it: in the sandbox, `sounds/en` links to `/etc/alternatives/...` which means
    ROOT/etc/alternatives/..., not the host's. Asterisk reads `sound:en/pbx/welcome` from
    `<sounds>/en/pbx/welcome.wav`, wherever `en` really points.
    """
    from pbx_stasis.ivr.prompts import generate, prompt_files

    wanted = list(languages) if languages is not None else None
    needs = [n for n in prompt_files(flowset, wanted) if n.text is not None]
    targets = {n: host_path(sounds_dir / n.relative_path, chroot) for n in needs}
    missing = [n for n in needs if overwrite or not targets[n].exists()]
    if not missing:
        return []
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="pbx-prompts-") as tmp:
        generate(flowset, tmp, sorted({n.language for n in missing}), overwrite=True)
        for need in missing:
            target = targets[need]
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.copyfile(Path(tmp) / need.relative_path, partial)
            os.replace(partial, target)
            written.append(target)
    return written


def host_path(path: Path, chroot: Path | None) -> Path:
    """`path` (inside `chroot`) with every symlink resolved as the chrooted process sees it."""
    if chroot is None:
        return path
    root = chroot.absolute()
    try:
        parts = path.absolute().relative_to(root).parts
    except ValueError:
        raise ValueError(f"{path} is not inside {chroot}") from None
    current = root
    for part in parts:
        candidate = current / part
        hops = 0
        while candidate.is_symlink():
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise ValueError(f"too many symlinks at {candidate}")
            target = Path(os.readlink(candidate))
            if target.is_absolute():
                candidate = root / target.relative_to("/")
            else:
                candidate = Path(os.path.normpath(candidate.parent / target))
        current = candidate
    return current


# --- database commands --------------------------------------------------------------------------


def _run_with_service(
    settings: Settings,
    body: Callable[[IvrService, int], Awaitable[int]],
    tenant: str,
    *,
    create_tenant: bool = False,
    with_ari: bool = False,
) -> int:
    from pbx_stasis.ari import AriClient
    from pbx_stasis.ivr.service import IvrService
    from pbx_stasis.store import Directory

    async def work(db: Database) -> int:
        ari = (
            AriClient(settings.ari.url, settings.ari.user, settings.ari.password)
            if with_ari
            else None
        )
        try:
            if create_tenant:
                tenant_id: int | None = (await Directory(db).ensure_tenant(tenant)).id
            else:
                tenant_id = await commands.tenant_id(db, tenant)
            if tenant_id is None:
                return 1
            service = IvrService(db, ari=ari, internal_lookups=settings.ivr.internal_lookups)
            return await body(service, tenant_id)
        finally:
            if ari is not None:
                await ari.close()

    return commands.with_database(settings.database.url, work)


def _apply(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.ivr.loader import read_sources

    try:
        sources = read_sources(args.files)
    except FlowSetInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    user = args.user or getpass.getuser()

    async def body(service: IvrService, tenant_id: int) -> int:
        from pbx_stasis.store import Directory

        account = await Directory(service.db).get_user(tenant_id, user)
        applied = await service.apply(
            tenant_id,
            sources,
            user,
            user_id=account.id if account is not None else None,
            comment=args.comment,
            check_sounds_on_asterisk=not args.no_sound_check,
        )
        for warning in applied.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if applied.version is None:
            for problem in applied.problems:
                print(problem, file=sys.stderr)
            count = len(applied.problems)
            print(
                f"{count} problem{'s' if count != 1 else ''} found; nothing applied",
                file=sys.stderr,
            )
            return 1
        version = applied.version
        print(
            f"applied version {version.number} for tenant {args.tenant!r} "
            f"({', '.join(version.files)}); new calls use it now"
        )
        return 0

    return _run_with_service(
        settings, body, args.tenant, create_tenant=True, with_ari=not args.no_sound_check
    )


def _versions(args: argparse.Namespace, settings: Settings) -> int:
    async def body(service: IvrService, tenant_id: int) -> int:
        versions = await service.list_versions(tenant_id)
        if not versions:
            print(f"no IVR versions for tenant {args.tenant!r}")
            return 0
        for v in versions:
            mark = "*" if v.active else " "
            when = v.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            comment = f"  {v.comment}" if v.comment else ""
            print(f"{mark} {v.number:>4}  {when}  {v.created_by}  {', '.join(v.files)}{comment}")
        return 0

    return _run_with_service(settings, body, args.tenant)


def _show(args: argparse.Namespace, settings: Settings) -> int:
    async def body(service: IvrService, tenant_id: int) -> int:
        version = await service.versions.get(tenant_id, args.number)
        if version is None:
            print(f"error: no IVR version {args.number}", file=sys.stderr)
            return 1
        for file, text in version.sources:
            print(f"# --- {file} (version {version.number})")
            print(text, end="" if text.endswith("\n") else "\n")
        return 0

    return _run_with_service(settings, body, args.tenant)


def _diff(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.ivr.versions import UnknownVersion

    async def body(service: IvrService, tenant_id: int) -> int:
        try:
            print(await service.diff(tenant_id, args.old, args.new), end="")
        except UnknownVersion as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0

    return _run_with_service(settings, body, args.tenant)


def _activate(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.ivr.versions import UnknownVersion

    async def body(service: IvrService, tenant_id: int) -> int:
        try:
            applied = await service.activate(tenant_id, args.number)
        except UnknownVersion as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if applied.version is None:
            for problem in applied.problems:
                print(problem, file=sys.stderr)
            return 1
        print(f"version {applied.version.number} is active for tenant {args.tenant!r}")
        return 0

    return _run_with_service(settings, body, args.tenant)


__all__ = ["add_commands", "host_path", "install_prompts"]
