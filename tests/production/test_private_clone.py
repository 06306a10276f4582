"""prod-local's PostgreSQL from a clone in a private folder (a `mktemp -d`, /root) as root: initdb runs as the
`postgres` user, who cannot enter it, so the cluster is kept where that user can reach it."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from favorita_assets.topology import Postgres, free_port, postgres_bin

pytestmark = [
    pytest.mark.production,
    pytest.mark.skipif(
        postgres_bin() is None or os.geteuid() != 0 or shutil.which("runuser") is None,
        reason="needs root, `runuser` and Debian's postgresql (initdb as the `postgres` user)",
    ),
]


def test_a_cluster_under_a_private_folder_is_kept_where_postgres_can_reach_it():
    private = Path(tempfile.mkdtemp())  # 0700 and root's, as `mktemp -d` makes it
    pg = Postgres(private / "pg", free_port())
    try:
        pg.start()
        assert pg.home != pg.folder and (pg.data / "PG_VERSION").is_file()
        assert (private / "pg" / "cluster_location").read_text().strip() == str(pg.home)
        # what `favorita prod-local stop` builds from the root alone finds the same cluster
        assert Postgres(private / "pg", 0).data == pg.data
    finally:
        pg.stop()
        shutil.rmtree(pg.home, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
    assert not (pg.data / "postmaster.pid").exists()
