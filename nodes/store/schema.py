"""Versioned schema migrations. Append, never edit a released step."""

from __future__ import annotations

from operator import itemgetter

# E.1 电子证照目录信息表 columns (SPEC §6.1), shared by the outbox, the catalog and anomalies.
E1_COLUMNS: tuple[str, ...] = (
    "certificate_source_id",
    "certificate_name",
    "certificate_type",
    "certificate_type_code",
    "issue_dept",
    "issue_dept_code",
    "certificate_area_code",
    "certificate_holder",
    "certificate_holder_code",
    "certificate_holder_type",
    "certificate_number",
    "issue_date",
    "data_source",
    "cd_operation",
    "cd_time",
    "cd_batch",
)

# The E.1 columns each row of a catalog message carries, as an array in this order; cd_batch
# is the message's own (SPEC §6.3 [P]).
MESSAGE_COLUMNS: tuple[str, ...] = E1_COLUMNS[: E1_COLUMNS.index("cd_batch")]
message_values = itemgetter(*MESSAGE_COLUMNS)  # an E.1 dict's values, as a message carries them

_E1_DDL = ",\n    ".join(f"{column} TEXT NOT NULL DEFAULT ''" for column in E1_COLUMNS[1:])

MIGRATIONS: tuple[str, ...] = (
    # 1: certificates, types, accounts, tokens, audit, catalog index, front-end tables, files
    f"""
    CREATE TABLE certificate (
        certificate_id TEXT PRIMARY KEY,
        type_code TEXT NOT NULL,
        holder_code TEXT NOT NULL,
        holder_type TEXT NOT NULL,
        number TEXT NOT NULL,
        status TEXT NOT NULL,
        record BLOB NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX certificate_by_holder ON certificate (holder_code, type_code, number);

    CREATE TABLE certificate_type (
        type_code TEXT PRIMARY KEY,
        record BLOB NOT NULL,
        defined_at_node TEXT NOT NULL,
        approved INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );

    CREATE TABLE account (
        account_id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        bound_ip TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'app',
        rate_limit REAL NOT NULL DEFAULT 50,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE access_token (
        account_id TEXT NOT NULL REFERENCES account (account_id),
        day TEXT NOT NULL,
        token TEXT NOT NULL UNIQUE,
        PRIMARY KEY (account_id, day)
    );

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        request_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        peer_ip TEXT NOT NULL,
        method TEXT NOT NULL,
        use_for TEXT NOT NULL,
        status TEXT NOT NULL,
        caller TEXT NOT NULL DEFAULT '',
        route TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_by_request ON audit_log (request_id);

    -- the catalog index of this node's subtree; via_node is the routing pointer
    CREATE TABLE catalog (
        certificate_source_id TEXT PRIMARY KEY,
        {_E1_DDL},
        via_node TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX catalog_by_holder
        ON catalog (certificate_holder_code, certificate_type_code, certificate_number);
    CREATE INDEX catalog_by_via ON catalog (via_node);

    -- front-end table E.1, outgoing increments waiting for the parent's acknowledgement
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        certificate_source_id TEXT NOT NULL,
        {_E1_DDL},
        sent_at REAL
    );
    CREATE INDEX outbox_by_batch ON outbox (cd_batch);

    -- front-end table E.2 at the child: anomalies its parent sent down
    CREATE TABLE anomaly (
        certificate_source_id TEXT NOT NULL,
        {_E1_DDL},
        error_remark TEXT NOT NULL,
        received_at TEXT NOT NULL,
        resolved_at TEXT,
        PRIMARY KEY (cd_batch, certificate_source_id, error_remark)
    );

    -- batches this node (as a parent) committed, and the anomalies it found in them
    CREATE TABLE ingested_batch (
        cd_batch TEXT PRIMARY KEY,
        child_node TEXT NOT NULL,
        committed_at TEXT NOT NULL,
        accepted INTEGER NOT NULL,
        anomalies BLOB NOT NULL
    );

    -- fileUrl tokens: a local copy (B.3 recorded) or a relay to the next hop
    CREATE TABLE file_link (
        token TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        certificate_id TEXT NOT NULL DEFAULT '',
        file_format TEXT NOT NULL,
        upstream_url TEXT NOT NULL DEFAULT '',
        copy BLOB NOT NULL DEFAULT '{{}}',
        expires_at REAL NOT NULL
    );

    CREATE TABLE node_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: the catalog as an ordinary rowid table indexed by holder code alone. Measured on the
    # aggregation path: a WITHOUT ROWID table of wide rows plus a three-column holder index cost
    # ~19 µs per ingested row, this layout ~8 µs. Holder lookups filter the few rows of one
    # holder by type and number; the via_node index served only a debug view.
    f"""
    CREATE TABLE catalog_v2 (
        seq INTEGER PRIMARY KEY,
        certificate_source_id TEXT NOT NULL UNIQUE,
        {_E1_DDL},
        via_node TEXT NOT NULL
    );
    INSERT INTO catalog_v2 ({", ".join((*E1_COLUMNS, "via_node"))})
        SELECT {", ".join((*E1_COLUMNS, "via_node"))} FROM catalog;
    DROP TABLE catalog;
    ALTER TABLE catalog_v2 RENAME TO catalog;
    CREATE INDEX catalog_by_holder ON catalog (certificate_holder_code);
    """,
    # 3: anomalies this node passes on to the child a rejected row came through (a province
    # relaying what national found): to whom, when last sent, and whether the child has them.
    """
    ALTER TABLE anomaly ADD COLUMN relay_to TEXT NOT NULL DEFAULT '';
    ALTER TABLE anomaly ADD COLUMN relay_sent_at REAL;
    ALTER TABLE anomaly ADD COLUMN relay_done INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX anomaly_relays ON anomaly (relay_done, relay_to, cd_batch) WHERE relay_to != '';
    """,
    # 4: what a parent forwards of a child's batch waits in the outbox as one entry, its rows
    # already encoded (a JSON array of E.1 objects, cd_batch empty): copying each row into the
    # outbox cost a province ~3.5 µs of SQLite a row, a third of its ingest rate.
    """
    ALTER TABLE outbox ADD COLUMN bundle BLOB;
    ALTER TABLE outbox ADD COLUMN bundle_rows INTEGER NOT NULL DEFAULT 1;
    """,
    # 5: audit rows past their retention, counted per day, method and return code before they
    # are deleted (nodes.housekeeping), so the log stays bounded and its history countable.
    """
    CREATE TABLE audit_daily (
        day TEXT NOT NULL,
        method TEXT NOT NULL,
        status TEXT NOT NULL,
        calls INTEGER NOT NULL,
        PRIMARY KEY (day, method, status)
    ) WITHOUT ROWID;
    """,
    # 6: the lifecycle of certificates (nodes.lifecycle): every transition with its reason and
    # time, kept for good. ``lineage`` (type.issuer.serial) joins the versions of one certificate;
    # ``related_id`` is the new version a change made (on the old one's row) or the old one (on
    # the new one's row).
    """
    CREATE TABLE certificate_history (
        id INTEGER PRIMARY KEY,
        lineage TEXT NOT NULL,
        certificate_id TEXT NOT NULL,
        transition TEXT NOT NULL,
        from_status TEXT NOT NULL,
        to_status TEXT NOT NULL,
        reason TEXT NOT NULL,
        time TEXT NOT NULL,
        related_id TEXT NOT NULL DEFAULT '',
        cd_operation TEXT NOT NULL
    );
    CREATE INDEX certificate_history_by_lineage ON certificate_history (lineage, id);
    CREATE INDEX certificate_history_by_id ON certificate_history (certificate_id, id);
    """,
    # 7: the audit log holds admin actions and file downloads too (nodes.http.admin_audit,
    # nodes.http.files): ``detail`` says what was done to what (a path, a CertificateID, the
    # reason an action was refused). ``audit_by_time`` serves ``GET /admin/audit?since=``.
    """
    ALTER TABLE audit_log ADD COLUMN detail TEXT NOT NULL DEFAULT '';
    CREATE INDEX audit_by_time ON audit_log (time);
    """,
    # 8: authorisation (§8.1.3, §8.1.4; nodes.authorisation): the grants of certificates held
    # here (kept for good; ``withdrawn_at`` set on withdrawal), and the network's grant index:
    # every node's active grants as it last published them, by grantee, so that any node can
    # find what is authorised to a holder and look it up by ID.
    """
    CREATE TABLE authorisation (
        id INTEGER PRIMARY KEY,
        certificate_id TEXT NOT NULL,
        type_code TEXT NOT NULL,
        number TEXT NOT NULL,
        grantor_code TEXT NOT NULL,
        grantor_name TEXT NOT NULL,
        grantee_code TEXT NOT NULL,
        grantee_name TEXT NOT NULL,
        reason TEXT NOT NULL,
        granted_at TEXT NOT NULL,
        withdrawn_at TEXT NOT NULL DEFAULT '',
        withdraw_reason TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX authorisation_active ON authorisation (certificate_id, grantee_code)
        WHERE withdrawn_at = '';
    CREATE INDEX authorisation_by_grantee ON authorisation (grantee_code);
    CREATE INDEX authorisation_by_grantor ON authorisation (grantor_code);
    CREATE TABLE grant_index (
        node_id TEXT NOT NULL,
        certificate_id TEXT NOT NULL,
        type_code TEXT NOT NULL,
        number TEXT NOT NULL,
        grantor_code TEXT NOT NULL,
        grantor_name TEXT NOT NULL,
        grantee_code TEXT NOT NULL,
        grantee_name TEXT NOT NULL,
        PRIMARY KEY (grantee_code, certificate_id, node_id)
    ) WITHOUT ROWID;
    CREATE INDEX grant_index_by_node ON grant_index (node_id);
    """,
    # 9: e-seals (nodes.seals): the node's own authorities' (node = this node; their private keys
    # are files in the node's private state, never here) and those its subtree pushed up with the
    # type catalogue. ``updated_at`` drives that push.
    """
    CREATE TABLE seal (
        seal_id TEXT PRIMARY KEY,
        authority_code TEXT NOT NULL,
        node TEXT NOT NULL,
        record BLOB NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX seal_by_authority ON seal (authority_code, node);
    CREATE INDEX seal_by_time ON seal (updated_at);
    """,
)
