"""Build Roundcube's tree for TempusMail from Debian's roundcube-core.

    python deploy/roundcube/tree.py ROUNDCUBE_DIR CONFIG_FILE

ROUNDCUBE_DIR/www is the INSTALL_PATH: Debian's program, SQL, bin and skins by symlink, the
stock plugins plus ours (deploy/roundcube/plugins/tempusmail), config/ with Debian's defaults
and CONFIG_FILE (rendered from config.inc.php.in). Serve ROUNDCUBE_DIR/www/public_html
(e.g. `php -S 127.0.0.1:PORT -t ROUNDCUBE_DIR/www/public_html`). The SQLite database is
created from Debian's schema on the first run. Standard library only.
"""

import shutil
import sqlite3
import sys
from pathlib import Path

DEBIAN = Path("/usr/share/roundcube")
HERE = Path(__file__).resolve().parent


def link(target: Path, name: Path) -> None:
    if name.is_symlink() or name.exists():
        name.unlink()
    name.symlink_to(target)


def build(data: Path, config_file: Path) -> Path:
    """Create (or refresh) the tree; return the document root to serve."""
    www = data / "www"
    for sub in ("plugins", "config", "public_html/program"):
        (www / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("logs", "temp"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    for name in ("index.php", "program", "SQL", "bin", "skins"):
        link(DEBIAN / name, www / name)
    for plugin in sorted((DEBIAN / "plugins").iterdir()):
        link(plugin, www / "plugins" / plugin.name)
    link(HERE / "plugins" / "tempusmail", www / "plugins" / "tempusmail")
    link(Path("/etc/roundcube/defaults.inc.php"), www / "config" / "defaults.inc.php")
    link(Path("/etc/roundcube/mimetypes.php"), www / "config" / "mimetypes.php")
    link(config_file.resolve(), www / "config" / "config.inc.php")
    public = www / "public_html"
    # Debian's entry point sets INSTALL_PATH to its parent directory: a copy, not a link.
    shutil.copyfile("/var/lib/roundcube/public_html/index.php", public / "index.php")
    for name in ("js", "resources"):
        link(Path("../../program") / name, public / "program" / name)
    for name in ("skins", "plugins"):
        link(Path("..") / name, public / name)
    database = data / "roundcube.sqlite"
    if not database.exists():
        with sqlite3.connect(database) as db:
            db.executescript((DEBIAN / "SQL" / "sqlite.initial.sql").read_text())
        database.chmod(0o640)
    return public


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(build(Path(sys.argv[1]).resolve(), Path(sys.argv[2])))
