-- People who use the line, and how they prove who they are. Names are
-- unique whatever their case, so "Maria" and "maria" cannot be two people
-- in the audit log. Secrets are never stored: passwords and PINs as
-- argon2id strings (with their parameters), badge codes as SHA-256.
CREATE TABLE users (
    name       TEXT    PRIMARY KEY COLLATE NOCASE,
    role       TEXT    NOT NULL CHECK (role IN ('operator', 'supervisor', 'admin')),
    password   TEXT    NOT NULL,                 -- argon2id, PHC string
    pin        TEXT    NOT NULL DEFAULT '',      -- argon2id, PHC string; '' = no PIN
    badge      TEXT    NOT NULL DEFAULT '',      -- SHA-256 (hex) of the badge code; '' = no badge
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,                 -- unix ms
    updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_badge ON users(badge) WHERE badge != '';

-- People logged in to the dashboard: only the SHA-256 of the token their
-- browser holds is kept, so a copy of the database logs no one in.
CREATE TABLE user_sessions (
    token_hash TEXT    PRIMARY KEY,              -- SHA-256 (hex) of the token
    user_name  TEXT    NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,                 -- sent back with every change
    addr       TEXT    NOT NULL DEFAULT '',      -- the client's address at login
    created_at INTEGER NOT NULL,                 -- unix ms
    last_seen  INTEGER NOT NULL
) STRICT;
CREATE INDEX user_sessions_user ON user_sessions(user_name);

-- Station screens paired by a supervisor; the credential is kept as SHA-256.
CREATE TABLE station_devices (
    id          INTEGER PRIMARY KEY,
    station     TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL UNIQUE,         -- SHA-256 (hex) of the credential
    paired_by   TEXT    NOT NULL,
    paired_at   INTEGER NOT NULL,                -- unix ms
    last_seen   INTEGER NOT NULL DEFAULT 0,
    revoked_by  TEXT    NOT NULL DEFAULT '',
    revoked_at  INTEGER NOT NULL DEFAULT 0       -- 0 = in use
) STRICT;

-- Who is signed on at each station, since when, and when they last did
-- something there.
CREATE TABLE station_signons (
    station       TEXT    PRIMARY KEY,
    user_name     TEXT    NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    since         INTEGER NOT NULL,              -- unix ms
    last_activity INTEGER NOT NULL
) STRICT;
