-- Times are unix nanoseconds (bigint): exact, and compared only with the
-- store's clock, never the server's.
CREATE TABLE events (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant         text    NOT NULL,
	key            text    NOT NULL,
	body           bytea   NOT NULL,
	created_ns     bigint  NOT NULL,
	next_ns        bigint  NOT NULL,
	attempts       integer NOT NULL DEFAULT 0,
	last_error     text    NOT NULL DEFAULT '',
	dead           boolean NOT NULL DEFAULT false,
	lease_owner    text,
	lease_until_ns bigint
);
-- Lease walks one tenant's pending events in due order.
CREATE INDEX events_due ON events (tenant, next_ns, id) WHERE NOT dead;
CREATE INDEX events_dead ON events (id) WHERE dead;
CREATE INDEX events_oldest ON events (created_ns) WHERE NOT dead;

CREATE TABLE dedup (
	key        text   PRIMARY KEY,
	expires_ns bigint NOT NULL
);
CREATE INDEX dedup_expiry ON dedup (expires_ns);

CREATE TABLE ids (
	gs_id      text   PRIMARY KEY,
	wamid      text   NOT NULL,
	expires_ns bigint NOT NULL
);
CREATE INDEX ids_expiry ON ids (expires_ns);

CREATE TABLE media (
	id         text   PRIMARY KEY,
	tenant     text   NOT NULL,
	app_id     text   NOT NULL,
	mime_type  text   NOT NULL,
	sha256     text   NOT NULL,
	size       bigint NOT NULL,
	url        text   NOT NULL,
	created_ns bigint NOT NULL
);
CREATE INDEX media_created ON media (created_ns);

CREATE TABLE flows (
	id         text   PRIMARY KEY,
	tenant     text   NOT NULL,
	app_id     text   NOT NULL,
	created_ns bigint NOT NULL
);
