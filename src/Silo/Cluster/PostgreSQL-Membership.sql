-- Orleans membership (Microsoft.Orleans.Clustering.AdoNet, invariant "Npgsql") for the platform's cluster mode.
-- Written for this project against the provider's contract: the provider reads its statements from OrleansQuery by
-- key, binds the parameters by name (@DeploymentId, @Address, @Port, @Generation, ...) and reads the result columns
-- by name. Writes that take a table version (@Version) succeed only if it is still current, and report success as a
-- single value that is > 0.
-- Safe to run again and concurrently: everything is "if not exists" or "or replace", under one advisory lock.

SELECT pg_advisory_xact_lock(7318460021);

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL PRIMARY KEY,
    QueryText varchar(8000) NOT NULL
);

-- One row per cluster: its version is the optimistic-concurrency token of the whole membership table.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL PRIMARY KEY,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0
);

-- One row per silo incarnation (address, port, generation).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL REFERENCES OrleansMembershipVersionTable (DeploymentId),
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes varchar(8000)  NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

-- Moves the cluster's table version on if it is still p_version; false when another write came first.
CREATE OR REPLACE FUNCTION platform_membership_bump(p_deployment varchar, p_version integer)
RETURNS boolean LANGUAGE plpgsql AS $body$
BEGIN
    UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = p_deployment AND Version = p_version;
    RETURN FOUND;
END
$body$;

-- Undoes a bump whose row change found nothing to change (the row lock is still ours: nobody saw the step).
CREATE OR REPLACE FUNCTION platform_membership_unbump(p_deployment varchar)
RETURNS integer LANGUAGE sql AS $body$
    UPDATE OrleansMembershipVersionTable SET Version = Version - 1 WHERE DeploymentId = p_deployment;
    SELECT 0;
$body$;

-- Adds a silo row and moves the version on, both or neither.
CREATE OR REPLACE FUNCTION platform_membership_insert(
    p_deployment varchar, p_address varchar, p_port integer, p_generation integer, p_silo_name varchar,
    p_host_name varchar, p_status integer, p_proxy_port integer, p_start timestamptz, p_alive timestamptz,
    p_version integer)
RETURNS integer LANGUAGE plpgsql AS $body$
BEGIN
    IF NOT platform_membership_bump(p_deployment, p_version) THEN
        RETURN 0;   -- someone else wrote first: the caller re-reads and retries
    END IF;
    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
    VALUES
        (p_deployment, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, p_proxy_port, p_start, p_alive)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN platform_membership_unbump(p_deployment);   -- the row exists already
    END IF;
    RETURN 1;
END
$body$;

-- Changes a silo row (status, suspicions, heartbeat) and moves the version on, both or neither.
CREATE OR REPLACE FUNCTION platform_membership_update(
    p_deployment varchar, p_address varchar, p_port integer, p_generation integer, p_status integer,
    p_suspect_times varchar, p_alive timestamptz, p_version integer)
RETURNS integer LANGUAGE plpgsql AS $body$
BEGIN
    IF NOT platform_membership_bump(p_deployment, p_version) THEN
        RETURN 0;
    END IF;
    UPDATE OrleansMembershipTable
    SET Status = p_status, SuspectTimes = p_suspect_times, IAmAliveTime = p_alive
    WHERE DeploymentId = p_deployment AND Address = p_address AND Port = p_port AND Generation = p_generation;
    IF NOT FOUND THEN
        RETURN platform_membership_unbump(p_deployment);   -- no such silo row
    END IF;
    RETURN 1;
END
$body$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('InsertMembershipVersionKey',
 'WITH added AS (INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (@DeploymentId)
                 ON CONFLICT DO NOTHING RETURNING 1)
  SELECT count(*)::integer FROM added;'),
('InsertMembershipKey',
 'SELECT platform_membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
                                    @ProxyPort, @StartTime, @IAmAliveTime, @Version);'),
('UpdateMembershipKey',
 'SELECT platform_membership_update(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
                                    @IAmAliveTime, @Version);'),
('UpdateIAmAlivetimeKey',
 'UPDATE OrleansMembershipTable SET IAmAliveTime = @IAmAliveTime
  WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation;'),
-- The reads return the version row even when no silo row matches (a left join from it): the provider takes the
-- table version from the first row and a silo only from rows with a StartTime.
('MembershipReadRowKey',
 'SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
         m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
       AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
  WHERE v.DeploymentId = @DeploymentId;'),
('MembershipReadAllKey',
 'SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
         m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
  WHERE v.DeploymentId = @DeploymentId;'),
('GatewaysQueryKey',
 'SELECT Address, ProxyPort, Generation FROM OrleansMembershipTable
  WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0;'),
('DeleteMembershipTableEntriesKey',
 'DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
  DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;'),
-- Status 6 is SiloStatus.Dead: only dead silos are ever removed.
('CleanupDefunctSiloEntriesKey',
 'DELETE FROM OrleansMembershipTable
  WHERE DeploymentId = @DeploymentId AND IAmAliveTime < @IAmAliveTime AND Status = 6;'),
('CleanupDefunctSiloEntryKey',
 'DELETE FROM OrleansMembershipTable
  WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation
    AND Status = 6;')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
