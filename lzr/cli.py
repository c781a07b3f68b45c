"""The `lzr` command: subcommands for users' tools, otherwise a scan with LZR's flags."""
import sys

TOOL_COMMANDS = ("probe", "fingerprint", "handshakes")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOL_COMMANDS:
        from lzr import tools
        return tools.main(argv)
    from lzr.runtime import scan
    return scan.main(argv)


if __name__ == "__main__":
    sys.exit(main())
