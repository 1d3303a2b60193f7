"""Run one Swift WSGI server (proxy, account, container or object) from a private config dir.

Usage: run_server.py ETC_DIR CONF_PATH APP_SECTION

Started by launcher.py, never by hand. Swift reads swift.conf (hash path salts, storage
policies, constraints) from the fixed path /etc/swift/swift.conf; set_swift_dir() points it
at ETC_DIR before any module that parses swift.conf is imported.
"""
import os
import sys

from swift.common import utils


def main(etc_dir: str, conf_path: str, app_section: str) -> int:
    utils.set_swift_dir(etc_dir)

    # storage_policy and constraints parse swift.conf on import; reload them in case something
    # imported them before set_swift_dir() (a host /etc/swift/swift.conf must not leak in).
    from swift.common import constraints, storage_policy, wsgi

    storage_policy.reload_storage_policies()
    constraints.reload_constraints()

    # run_wsgi() calls os.setsid(), which would move the server out of the launcher's process
    # group and out of reach of `swift-s3 stop` (kill -- -PGID). Keep the rest of the hygiene.
    def keep_process_group() -> None:
        os.chdir("/")
        os.umask(0o22)

    wsgi.clean_up_daemon_hygiene = keep_process_group

    # workers = 0 in the config: serve in this process, no forked workers to orphan.
    # verbose=True adds a stderr log handler; the launcher sends stderr to DIR/log/<server>.log.
    return wsgi.run_wsgi(conf_path, app_section, verbose=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: run_server.py ETC_DIR CONF_PATH APP_SECTION")
    sys.exit(main(*sys.argv[1:4]))
