"""Command line of scripts/asterisk-sandbox."""

from __future__ import annotations

import argparse
import sys

from . import install, instance, settings

USAGE = """\
Install and run the sandbox Asterisk 22 (a Debian sid chroot) for pbx-stasis.

commands:
  install   debootstrap the chroot into $PBX_SANDBOX_DIR/root (no-op when done)
  start     write the instance config from dialplan/ and pjsip/, start Asterisk, wait for ARI
  stop      stop the instance (core stop now, then signals)
  restart   stop + start
  status    print running/stopped; exit 0 running, 3 stopped, 4 alive but ARI silent
  env       print `export PBX_ARI_URL=...` lines for this instance (eval "$(... env)")
  cli CMD   run one Asterisk CLI command on the instance, e.g. cli 'pjsip show endpoints'

environment (defaults):
  PBX_SANDBOX_DIR ~/.cache/pbx-stasis/sandbox   PBX_SANDBOX_NAME default
  PBX_SANDBOX_ARI_PORT 8088 (also WebSocket SIP at /ws)   PBX_SANDBOX_SIP_PORT 5060
  PBX_SANDBOX_TRUNK_PORT 5070 (where the trunk sends outbound calls)
  PBX_SANDBOX_RTP_START 10000   PBX_SANDBOX_RTP_END 19999
  PBX_SANDBOX_RTP_TIMEOUT 60 (s without RTP before the trunk's calls end; 10x on hold)
  PBX_SANDBOX_ARI_PASSWORD pbx-sandbox   PBX_SANDBOX_START_TIMEOUT 60 (s)
  PBX_SANDBOX_VERBOSE 0 (Asterisk verbose level in the log)   PBX_SANDBOX_MIRROR (override)
  PBX_SANDBOX_SYSTEMNAME (none; a cluster node's name: the prefix of its channel ids)
A second instance beside the default one, e.g.:
  PBX_SANDBOX_NAME=b PBX_SANDBOX_ARI_PORT=8089 PBX_SANDBOX_SIP_PORT=5062 \\
  PBX_SANDBOX_TRUNK_PORT=5072 PBX_SANDBOX_RTP_START=15000 PBX_SANDBOX_RTP_END=19999
(RTP ranges may overlap: Asterisk skips ports in use; keep sipp media ports out of them).
Unset variables take the values the instance was last started with (its instance.json).
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="asterisk-sandbox",
        description=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command", choices=("install", "start", "stop", "restart", "status", "env", "cli")
    )
    parser.add_argument("words", nargs="*", help="the CLI command (for `cli`)")
    args = parser.parse_args(argv)
    try:
        current = settings.load()
        if args.command == "install":
            install.install(current)
        elif args.command == "start":
            instance.start(current)
        elif args.command == "stop":
            instance.stop(current)
        elif args.command == "restart":
            instance.stop(current)
            instance.start(current)
        elif args.command == "status":
            return instance.status(current)
        elif args.command == "env":
            print("\n".join(instance.env_lines(current)))
        elif args.command == "cli":
            if not args.words:
                parser.error("cli needs a command, e.g. cli 'core show channels'")
            done = instance.cli(current, " ".join(args.words))
            sys.stdout.write(done.stdout)
            sys.stderr.write(done.stderr)
            return done.returncode
    except settings.SandboxError as problem:
        print(f"asterisk-sandbox: {problem}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # e.g. `asterisk-sandbox env | head -1`: the reader left, nothing to report
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("asterisk-sandbox: interrupted", file=sys.stderr)
        return 130
    return 0
