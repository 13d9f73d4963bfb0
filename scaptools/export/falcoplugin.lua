-- falcoplugin.lua: show Falco plugin events of .scap captures in Wireshark 4.0.
--
-- Part of scaptools (`scap export --lua-path` prints where this file is installed).
-- Load it with `wireshark -X lua_script:falcoplugin.lua FILE` (or tshark), or copy it
-- into the "Personal Lua Plugins" folder listed by `tshark -G folders`.
--
-- Wireshark 4.0 does not dissect event type 322 (pluginevent): such records show
-- only as raw "Data" (docs/wireshark-export.md §1.3). This postdissector recognises them,
-- adds falcoplugin.* fields (plugin id, event source, payload, event name and a
-- summary), runs the JSON dissector on the payload, and names the source in the
-- Protocol column. For records of a `scap export --format wireshark` file (exported
-- PDUs on one interface per plugin) it adds the same falcoplugin.* fields and a
-- better Info column. Syscall records are left alone.

local SOURCES = {            -- plugin id -> event source (Falco plugin registry)
    [1] = "k8s_audit",
    [2] = "aws_cloudtrail",
    [7] = "okta",
    [8] = "github",
    [12] = "gcp_auditlog",
}

local proto = Proto("falcoplugin", "Falco plugin event")
local f_plugin_id = ProtoField.uint32("falcoplugin.plugin_id", "Plugin ID", base.DEC)
local f_source = ProtoField.string("falcoplugin.source", "Event source")
local f_len_width = ProtoField.uint8("falcoplugin.len_width", "Parameter length width", base.DEC)
local f_data = ProtoField.bytes("falcoplugin.data", "Event data")
local f_name = ProtoField.string("falcoplugin.name", "Event name")
local f_summary = ProtoField.string("falcoplugin.summary", "Summary")
proto.fields = { f_plugin_id, f_source, f_len_width, f_data, f_name, f_summary }

local fe_protocols = Field.new("frame.protocols")
local fe_sysdig = Field.new("sysdig.event_type")
local fe_path_value = Field.new("json.path_with_value")
local fe_pdu_proto = Field.new("exported_pdu.col_proto_str")
local fe_if_descr = Field.new("frame.interface_description")

local json = Dissector.get("json")

-- Find the pluginevent layout in a record: the two parameter lengths are either
-- u32 (0x221 blocks, what libscap writes) or u16 (0x216/0x204 blocks); the first
-- parameter is the 4-byte plugin id. A few bytes of block padding may follow.
local function parse_pluginevent(tvb)
    local size = tvb:len()
    if size >= 12 and tvb(0, 4):le_uint() == 4 then
        local n = tvb(4, 4):le_uint()
        if 12 + n <= size and size <= 12 + n + 3 then
            return 4, tvb(8, 4):le_uint(), 12, n
        end
    end
    if size >= 8 and tvb(0, 2):le_uint() == 4 then
        local n = tvb(2, 2):le_uint()
        if 8 + n <= size and size <= 8 + n + 3 then
            return 2, tvb(4, 4):le_uint(), 8, n
        end
    end
    return nil
end

-- Event name and "name (service) by user" from the JSON fields just dissected
-- (CloudTrail-style records: eventName, eventSource, userIdentity).
local function describe()
    local values = {}
    for _, fi in ipairs({ fe_path_value() }) do
        local text = tostring(fi.value)
        local path, value = text:match("^(/[^:]*):(.*)$")
        if path and values[path] == nil then
            values[path] = value
        end
    end
    local name = values["/eventName"]
    if not name then
        return nil, nil
    end
    local summary = name
    if values["/eventSource"] then
        summary = summary .. " (" .. values["/eventSource"] .. ")"
    end
    local user = values["/userIdentity/userName"]
        or values["/userIdentity/sessionContext/sessionIssuer/userName"]
        or values["/userIdentity/invokedBy"]
        or values["/userIdentity/type"]
    if user then
        summary = summary .. " by " .. user
    end
    return name, summary
end

local function add_description(subtree, pinfo)
    local name, summary = describe()
    if name then
        subtree:add(f_name, name):set_generated()
        subtree:add(f_summary, summary):set_generated()
        pinfo.cols.info = summary
    end
end

-- A native pluginevent record (raw "Data" in Wireshark 4.0).
local function dissect_native(tvb, pinfo, tree)
    local width, plugin_id, offset, n = parse_pluginevent(tvb)
    if not width then
        return
    end
    local source = SOURCES[plugin_id] or ("plugin_" .. plugin_id)
    local subtree = tree:add(proto, tvb(), "Falco plugin event, " .. source)
    subtree:add_le(f_plugin_id, tvb(offset - 4, 4))
    subtree:add(f_source, source):set_generated()
    subtree:add(f_len_width, width):set_generated()
    if n > 0 then
        subtree:add(f_data, tvb(offset, n))
    end
    pinfo.cols.protocol = source
    pinfo.cols.info = "pluginevent plugin_id=" .. plugin_id
    if n > 0 and tvb(offset, 1):uint() == 0x7B and json then  -- payload starts with "{"
        json:call(tvb(offset, n):tvb(), pinfo, tree)
        add_description(subtree, pinfo)
    end
end

-- A plugin event exported by `scap export --format wireshark` (an exported PDU).
local function dissect_exported(tvb, pinfo, tree, source)
    local subtree = tree:add(proto, tvb(0, 0), "Falco plugin event, " .. source)
    local descr = fe_if_descr()
    local plugin_id = descr and tostring(descr.value):match("plugin id (%d+)")
    if plugin_id then
        subtree:add(f_plugin_id, tonumber(plugin_id)):set_generated()
    end
    subtree:add(f_source, source):set_generated()
    add_description(subtree, pinfo)
end

function proto.dissector(tvb, pinfo, tree)
    if fe_sysdig() then
        return  -- a syscall record: the sysdig dissector has it
    end
    local protocols = fe_protocols()
    local stack = protocols and tostring(protocols.value) or ""
    if stack == "data" then
        dissect_native(tvb, pinfo, tree)
    elseif stack:find("^exported_pdu") then
        local pdu = fe_pdu_proto()
        if pdu then
            dissect_exported(tvb, pinfo, tree, tostring(pdu.value))
        end
    end
end

register_postdissector(proto, true)
