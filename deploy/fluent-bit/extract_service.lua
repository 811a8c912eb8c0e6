-- Fluent Bit lua filter between the tail input and the loki output
-- (fluent-bit.conf, fluent-bit-daemonset.conf): makes sure every record has
-- the fields the output turns into labels.
--
--   service      the record's own "service" (agora-log writes it on every
--                entry); failing that the file name /var/log/agora/<service>.log,
--                from the tail's Path_Key field "log_file" when the input sets
--                it, else from the tag (Tag agora.* makes it
--                agora.var.log.agora.<service>.log)
--   environment  the record's own; failing that $ENVIRONMENT of the Fluent Bit
--                container; failing that "unknown"
--   level        the record's own, upper case; failing that "UNKNOWN" (a line
--                the JSON parser could not read arrives as {"log": "..."})
--   namespace,   only for the DaemonSet layout, where a pod's files are in
--   pod          /var/log/agora/<namespace>_<pod>/ on the node: taken from that
--                directory in "log_file", unless the record has them
--
-- Returns 0 (record unchanged: Fluent Bit keeps the original bytes) when
-- nothing was missing, else 2 (record changed, timestamp kept). Never drops.
-- tools/check_deploy.py runs this file under LuaJIT on real entries.

local LOG_DIR = "/var/log/agora/"

local function non_empty(v)
    return type(v) == "string" and v ~= ""
end

-- /var/log/agora/market-data.log -> "market-data";
-- /var/log/agora/prod_market-data-7d9f-x2/market-data.log -> "market-data",
-- "prod", "market-data-7d9f-x2".
local function from_path(path)
    if not non_empty(path) or path:sub(1, #LOG_DIR) ~= LOG_DIR then
        return nil
    end
    local rest = path:sub(#LOG_DIR + 1)
    local dir, file = rest:match("^([^/]+)/([^/]+)%.log$")
    if dir == nil then
        return rest:match("^([^/]+)%.log$")
    end
    local namespace, pod = dir:match("^([^_]+)_([^_]+)$")
    return file, namespace, pod
end

-- agora.var.log.agora.market-data.log -> "market-data". The tag has dots for
-- slashes, so a directory level (DaemonSet layout) is ambiguous here: the
-- last dot-separated part before ".log" is taken.
local function from_tag(tag)
    if type(tag) ~= "string" then
        return nil
    end
    local rest = tag:match("^agora%.var%.log%.agora%.(.+)%.log$")
    if rest == nil then
        return nil
    end
    return rest:match("([^.]+)$")
end

function extract_service(tag, timestamp, record)
    local changed = false

    local path_service, namespace, pod = from_path(record["log_file"])
    if not non_empty(record["service"]) then
        record["service"] = path_service or from_tag(tag) or "unknown"
        changed = true
    end
    if namespace ~= nil and not non_empty(record["namespace"]) then
        record["namespace"] = namespace
        changed = true
    end
    if pod ~= nil and not non_empty(record["pod"]) then
        record["pod"] = pod
        changed = true
    end

    if not non_empty(record["environment"]) then
        local env = os.getenv("ENVIRONMENT")
        record["environment"] = non_empty(env) and env or "unknown"
        changed = true
    end

    local level = record["level"]
    if non_empty(level) then
        local upper = level:upper()
        if upper ~= level then
            record["level"] = upper
            changed = true
        end
    else
        record["level"] = "UNKNOWN"
        changed = true
    end

    if changed then
        return 2, timestamp, record
    end
    return 0, timestamp, record
end
