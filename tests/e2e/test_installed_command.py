"""`lzr probe`, `lzr fingerprint` as users run them: the installed console script in a shell
pipeline (ci/setup installs the package into the virtualenv that runs the tests)."""
import subprocess
import sys
from pathlib import Path


def test_the_documented_shell_examples_with_the_installed_command():
    # ci/setup installs the package into the virtualenv that runs the tests.
    lzr = Path(sys.executable).parent / "lzr"
    assert lzr.exists()

    def shell(line: str) -> str:
        return subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True,
                              env={"PATH": f"{lzr.parent}:/usr/bin:/bin"}).stdout.strip()

    assert shell("lzr probe http --target 1.2.3.4 | wc -c") == "193"
    assert shell("printf 'SSH-2.0-OpenSSH_9.2\\r\\n' | lzr fingerprint") == "ssh"
    assert shell("printf '220 Welcome\\r\\n' | lzr fingerprint -handshakes ftp,http") == "ftp"
