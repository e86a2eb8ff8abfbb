using System.Globalization;

namespace IamFulfillment.Sandbox.ServiceNow;

/// <summary>A requested item to seed: its catalog item, people, state and variables (name → value).</summary>
public sealed record RitmSeed
{
    public required string CatalogItem { get; init; }
    public required string RequestedFor { get; init; }
    public required string OpenedBy { get; init; }
    public string State { get; init; } = "1";
    public string Approval { get; init; } = "requested";
    public string? ShortDescription { get; init; }
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>item_option_new.type per variable name (6 single line text by default; 8 reference, 9 date, 10 date/time).</summary>
    public IReadOnlyDictionary<string, int> VariableTypes { get; init; } = new Dictionary<string, int>();

    public DateTimeOffset? OpenedAt { get; init; }
}

/// <summary>What <see cref="ServiceNowSandbox.AddRitm"/> created.</summary>
public sealed record SeededRitm(string SysId, string Number, string RequestSysId, string RequestNumber, IReadOnlyDictionary<string, string> OptionSysIds);

public sealed record SandboxJournalEntry(string Element, string Value, string CreatedBy, string CreatedOn, string Table);

public sealed record SandboxAuditEntry(string Field, string? OldValue, string? NewValue, string User, string CreatedOn);

/// <summary>The seeding and inspection API: what tests, the demo and the benchmark use to set up and check an instance.</summary>
public sealed partial class ServiceNowSandbox
{
    private int _ritmNumber = 10000;
    private int _requestNumber = 10000;

    public string AddUser(string userName, string name, string? email = null, string? employeeNumber = null, string? managerSysId = null, string? sysId = null) =>
        Tables.Insert("sys_user", new Dictionary<string, string?>
        {
            ["sys_id"] = sysId, ["user_name"] = userName, ["name"] = name, ["email"] = email ?? string.Empty,
            ["employee_number"] = employeeNumber ?? string.Empty, ["manager"] = managerSysId ?? string.Empty, ["active"] = "true",
        }, "admin");

    public string AddGroup(string name, string? sysId = null) =>
        Tables.Insert("sys_user_group", new Dictionary<string, string?> { ["sys_id"] = sysId, ["name"] = name, ["active"] = "true" }, "admin");

    public string AddCatalogItem(string name, string? sysId = null) =>
        Tables.Insert("sc_cat_item", new Dictionary<string, string?> { ["sys_id"] = sysId, ["name"] = name, ["active"] = "true" }, "admin");

    /// <summary>The variable definition (item_option_new) of a catalog item, created when missing.</summary>
    public string EnsureVariable(string catalogItemSysId, string name, int type = 6)
    {
        var existing = Tables.Query("item_option_new", $"cat_item={catalogItemSysId}^name={name}");
        return existing.Count > 0
            ? existing[0]["sys_id"]
            : Tables.Insert("item_option_new", new Dictionary<string, string?>
            {
                ["cat_item"] = catalogItemSysId, ["name"] = name, ["question_text"] = name, ["type"] = type.ToString(CultureInfo.InvariantCulture),
            }, "admin");
    }

    /// <summary>Creates a request (sc_request), its requested item and the item's variables, as a submission through the catalog would.</summary>
    public SeededRitm AddRitm(RitmSeed seed)
    {
        var openedBy = Tables.Get("sys_user", seed.OpenedBy)?["user_name"] ?? "admin";
        var at = seed.OpenedAt;
        var requestNumber = $"REQ{Interlocked.Increment(ref _requestNumber).ToString("D7", CultureInfo.InvariantCulture)}";
        var request = Tables.Insert("sc_request", new Dictionary<string, string?>
        {
            ["number"] = requestNumber, ["requested_for"] = seed.RequestedFor, ["opened_by"] = seed.OpenedBy, ["state"] = "1",
            ["request_state"] = "requested", ["approval"] = "requested", ["active"] = "true",
        }, openedBy, at);
        var number = $"RITM{Interlocked.Increment(ref _ritmNumber).ToString("D7", CultureInfo.InvariantCulture)}";
        var catalogName = Tables.Get("sc_cat_item", seed.CatalogItem)?["name"];
        var ritm = Tables.Insert("sc_req_item", new Dictionary<string, string?>
        {
            ["number"] = number, ["request"] = request, ["cat_item"] = seed.CatalogItem, ["requested_for"] = seed.RequestedFor,
            ["opened_by"] = seed.OpenedBy, ["state"] = seed.State, ["approval"] = seed.Approval, ["active"] = "true", ["quantity"] = "1",
            ["short_description"] = seed.ShortDescription ?? catalogName ?? string.Empty,
            ["opened_at"] = ServiceNowTables.FormatTime(at ?? Time.GetUtcNow()),
        }, openedBy, at);

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = 100;
        foreach (var (name, value) in seed.Variables)
        {
            var definition = EnsureVariable(seed.CatalogItem, name, seed.VariableTypes.GetValueOrDefault(name, 6));
            var option = Tables.Insert("sc_item_option", new Dictionary<string, string?>
            {
                ["item_option_new"] = definition, ["value"] = value, ["order"] = (order += 100).ToString(CultureInfo.InvariantCulture),
            }, openedBy, at);
            Tables.Insert("sc_item_option_mtom", new Dictionary<string, string?> { ["request_item"] = ritm, ["sc_item_option"] = option }, openedBy, at);
            options[name] = option;
        }

        return new SeededRitm(ritm, number, request, requestNumber, options);
    }

    /// <summary>
    /// Adds an approval on a task (requested item or request). It is created in state "requested" (at
    /// <paramref name="createdAt"/>, default now); a decided <paramref name="state"/> is then set at
    /// <paramref name="decidedAt"/> by <paramref name="actedByUserName"/> (default: the approver — another user
    /// name is how a delegate shows), with an optional journal comment.
    /// </summary>
    public string AddApproval(string taskSysId, string approverSysId, string state = "requested", DateTimeOffset? decidedAt = null,
        string? actedByUserName = null, string? comment = null, DateTimeOffset? createdAt = null)
    {
        var approverName = Tables.Get("sys_user", approverSysId)?["user_name"] ?? "admin";
        var sourceTable = Tables.Get("sc_req_item", taskSysId) is not null ? "sc_req_item" : "sc_request";
        var approval = Tables.Insert("sysapproval_approver", new Dictionary<string, string?>
        {
            ["approver"] = approverSysId, ["state"] = "requested", ["sysapproval"] = taskSysId, ["document_id"] = taskSysId, ["source_table"] = sourceTable,
        }, "system", createdAt);
        if (state != "requested" || comment is not null)
        {
            var fields = new Dictionary<string, string?> { ["state"] = state };
            if (comment is not null)
            {
                fields["comments"] = comment;
            }

            Tables.Update("sysapproval_approver", approval, fields, actedByUserName ?? approverName, decidedAt);
        }

        return approval;
    }

    /// <summary>Changes a variable of a requested item as <paramref name="by"/>, writing sys_audit like the platform does.</summary>
    public void UpdateVariable(string ritmSysId, string name, string value, string by, DateTimeOffset? at = null)
    {
        var option = Tables.Query("sc_item_option_mtom", $"request_item={ritmSysId}^sc_item_option.item_option_new.name={name}").FirstOrDefault()
            ?? throw new InvalidOperationException($"The item {ritmSysId} has no variable {name}.");
        Tables.Update("sc_item_option", option["sc_item_option"], new Dictionary<string, string?> { ["value"] = value }, by, at);
    }

    /// <summary>Changes fields of any record as <paramref name="by"/> (journal fields append, other changes are audited).</summary>
    public void UpdateRecord(string table, string sysId, IReadOnlyDictionary<string, string?> fields, string by, DateTimeOffset? at = null)
    {
        if (!Tables.Update(table, sysId, fields, by, at))
        {
            throw new InvalidOperationException($"{table} {sysId} does not exist.");
        }
    }

    /// <summary>A copy of a record with every column of its table (empty when unset), or null.</summary>
    public IReadOnlyDictionary<string, string>? Record(string table, string sysId)
    {
        if (Tables.Get(table, sysId) is not { } stored)
        {
            return null;
        }

        var record = Tables.ColumnsOf(table).ToDictionary(c => c, _ => string.Empty, StringComparer.Ordinal);
        foreach (var (name, value) in stored)
        {
            record[name] = value;
        }

        return record;
    }

    /// <summary>Journal entries (comments, work notes) of a record, oldest first.</summary>
    public IReadOnlyList<SandboxJournalEntry> JournalOf(string sysId) =>
        Tables.Query("sys_journal_field", $"element_id={sysId}^ORDERBYsys_created_on")
            .Select(r => new SandboxJournalEntry(r["element"], r["value"], r["sys_created_by"], r["sys_created_on"], r["name"]))
            .ToList();

    /// <summary>Audit rows (field changes) of a record, oldest first.</summary>
    public IReadOnlyList<SandboxAuditEntry> AuditOf(string sysId) =>
        Tables.Query("sys_audit", $"documentkey={sysId}^ORDERBYsys_created_on")
            .Select(r => new SandboxAuditEntry(r["fieldname"], r["oldvalue"], r["newvalue"], r["user"], r["sys_created_on"]))
            .ToList();
}
