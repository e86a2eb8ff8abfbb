using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.ServiceNow;

/// <summary>
/// ServiceNow requested items (sc_req_item) as tickets. A read takes two waves of parallel Table API calls (three
/// only when approvals on the parent request need a delegate or a rejection comment looked up); a write-back is
/// one PATCH carrying comment, work note, state and assignment group.
/// </summary>
public sealed partial class ServiceNowTicketSystem : ITicketSystem
{
    private const string ItemTable = "sc_req_item";

    private static readonly string[] ItemFields =
    [
        "sys_id", "number", "state", "approval", "short_description", "cat_item", "cat_item.name", "request",
        "sys_created_on", "sys_updated_on", "sys_mod_count", .. PersonFields("opened_by"), .. PersonFields("requested_for"),
    ];

    private static readonly string[] VariableFields =
        ["sc_item_option", "sc_item_option.item_option_new.name", "sc_item_option.item_option_new.type", "sc_item_option.value"];

    private static readonly string[] ApprovalFields =
        ["sys_id", "state", "sys_created_on", "sys_updated_on", "sys_updated_by", .. PersonFields("approver")];

    private static readonly string[] AuditFields = ["documentkey", "fieldname", "oldvalue", "newvalue", "user", "sys_created_on"];
    private static readonly string[] UserFields = ["sys_id", "name", "email", "employee_number", "user_name"];
    private static readonly string[] JournalFields = ["element_id", "value", "sys_created_on"];
    private static readonly string[] MarkerFields = ["sys_id"];

    private readonly ServiceNowClient _client;
    private readonly ServiceNowOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ServiceNowTicketSystem> _logger;

    public ServiceNowTicketSystem(ServiceNowClient client, IOptions<ServiceNowOptions> options, TimeProvider time, ILogger<ServiceNowTicketSystem> logger)
    {
        _client = client;
        _options = options.Value;
        _time = time;
        _logger = logger;
        FieldMap = new ServiceNowFieldMap(_options);
    }

    public TicketSystemKind Kind => TicketSystemKind.ServiceNow;

    public ServiceNowFieldMap FieldMap { get; }

    public Task<TicketSnapshot> ReadAsync(string key, CancellationToken cancellationToken) => ReadAsync(key, null, cancellationToken);

    public async Task<TicketSnapshot> ReadAsync(string key, ReadProgress? progress, CancellationToken cancellationToken)
    {
        var sysId = ServiceNowQuery.SysId(key, nameof(key));
        var ticket = new TicketRef(TicketSystemKind.ServiceNow, sysId);
        var started = _time.GetTimestamp();

        // Wave 1: everything that needs nothing but the item's sys_id.
        var itemTask = _client.GetRecordAsync(ItemTable, sysId, ItemFields, cancellationToken);
        var variablesTask = _client.ListAsync("sc_item_option_mtom", $"request_item={sysId}", VariableFields, cancellationToken);
        var itemApprovalsTask = ListApprovalsAsync(sysId, ApprovalScope.Item, cancellationToken);
        var itemAuditTask = _client.ListAsync(
            "sys_audit",
            $"tablename={ItemTable}^documentkey={sysId}^fieldnameIN{string.Join(",", ServiceNowFieldMap.MaterialItemColumns.Keys)}^ORDERBYsys_created_on",
            AuditFields,
            cancellationToken);
        await Task.WhenAll(itemTask, variablesTask, itemApprovalsTask, itemAuditTask);

        var item = await itemTask is { } found ? new Row(found) : throw new TicketNotFoundException(ticket);
        var variables = (await variablesTask).Select(r => new Variable(new Row(r))).Where(v => v.Name.Length > 0).ToList();
        var itemApprovals = await itemApprovalsTask;
        ReportPeople(progress, item, variables, itemApprovals);

        // Wave 2: what the first answers point at.
        var requestId = item["request"];
        var parentApprovalsTask = ServiceNowQuery.IsSysId(requestId)
            ? ListApprovalsAsync(requestId, ApprovalScope.ParentRequest, cancellationToken)
            : Task.FromResult<IReadOnlyList<RawApproval>>([]);
        var materialOptions = variables.Where(v => FieldMap.FieldsOf(v.Name).Any(MaterialFields.All.Contains) && ServiceNowQuery.IsSysId(v.OptionId)).ToList();
        var variableAuditTask = materialOptions.Count == 0
            ? Task.FromResult<IReadOnlyList<IReadOnlyDictionary<string, string>>>([])
            : _client.ListAsync(
                "sys_audit",
                $"tablename=sc_item_option^documentkeyIN{ServiceNowQuery.SysIdList(materialOptions.Select(o => o.OptionId))}^fieldname=value^ORDERBYsys_created_on",
                AuditFields,
                cancellationToken);
        var personIds = variables
            .Where(v => FieldMap.FieldsOf(v.Name).Any(RequestFields.PersonFields.Contains) && ServiceNowQuery.IsSysId(v.Value))
            .Select(v => v.Value)
            .ToList();
        var lookupsTask = LookUpAsync(itemApprovals, personIds, Lookups.None, cancellationToken);
        await Task.WhenAll(parentApprovalsTask, variableAuditTask, lookupsTask);

        var parentApprovals = await parentApprovalsTask;
        var lookups = await lookupsTask;
        var waves = 2;
        if (NeedsLookUp(parentApprovals, lookups))
        {
            // Wave 3, rare: a delegate or a rejection on the parent request.
            lookups = lookups.With(await LookUpAsync(parentApprovals, [], lookups, cancellationToken));
            waves = 3;
        }

        var (fields, people) = MapVariables(variables, lookups);
        if (!people.ContainsKey(RequestFields.RequestedFor) && Person(item, "requested_for") is { } requestedFor)
        {
            people[RequestFields.RequestedFor] = requestedFor;
        }

        // The catalog item mapping wins over a request_type variable: admins configure the one, requesters type the other.
        if (FieldMap.RequestTypeFor(item["cat_item"], item["cat_item.name"]) is { } configuredType)
        {
            fields[RequestFields.RequestType] = configuredType;
        }

        var snapshot = new TicketSnapshot
        {
            Ref = ticket,
            Number = item["number"],
            Url = $"{_client.InstanceUrl}sc_req_item.do?sys_id={sysId}",
            Status = FieldMap.StatusOf(item["state"]),
            RawState = item["state"],
            OpenedBy = Person(item, "opened_by"),
            People = people,
            CatalogItem = NullIfEmpty(item["cat_item"]),
            Fields = fields,
            Approvals = [.. itemApprovals.Concat(parentApprovals).Select(a => ToRecord(a, lookups))],
            MaterialChanges = MaterialChanges(await itemAuditTask, await variableAuditTask, materialOptions),
            CreatedAt = ServiceNowTime.Parse(item["sys_created_on"]),
            UpdatedAt = ServiceNowTime.Parse(item["sys_updated_on"]),
            Summary = NullIfEmpty(item["short_description"]),
        };

        progress?.Completed(snapshot);
        LogRead(sysId, snapshot.Number, waves, snapshot.Approvals.Count, _time.GetElapsedTime(started).TotalMilliseconds);
        return snapshot;
    }

    public async Task<WriteBackReceipt> WriteBackAsync(TicketSnapshot ticket, WriteBack writeBack, CancellationToken cancellationToken)
    {
        var sysId = KeyOf(ticket);
        var marker = NeutralisedMarker(writeBack.Marker);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var note = writeBack.InternalNote;

        if (writeBack.ChangeState)
        {
            if (FieldMap.StateFor(writeBack.Outcome) is { } state)
            {
                values["state"] = state;
            }

            if (writeBack.Outcome == Outcome.Escalated && writeBack.Queue?.ServiceNowAssignmentGroup is { Length: > 0 } group)
            {
                if (ServiceNowQuery.IsSysId(group))
                {
                    values["assignment_group"] = group;
                }
                else
                {
                    // Do not lose the escalation over a configuration mistake: write it, and say why it was not routed.
                    LogBadAssignmentGroup(sysId, writeBack.Queue.Id);
                    note = (note is null ? string.Empty : note.TrimEnd() + "\n\n")
                        + $"The escalation queue \"{writeBack.Queue.Id}\" names an assignment group that is not a sys_id, so the ticket was not reassigned.";
                }
            }
        }

        if (!string.IsNullOrWhiteSpace(writeBack.CustomerComment))
        {
            values["comments"] = Compose(writeBack.CustomerComment, marker);
        }

        if (!string.IsNullOrWhiteSpace(note))
        {
            values["work_notes"] = Compose(note, marker);
        }

        if (values.Count == 0)
        {
            return new WriteBackReceipt(null);
        }

        if (!await _client.PatchAsync(ItemTable, sysId, values, cancellationToken))
        {
            throw new TicketNotFoundException(ticket.Ref);
        }

        LogWrittenBack(sysId, ticket.Number, writeBack.Outcome, values.GetValueOrDefault("state") ?? "unchanged", values.ContainsKey("assignment_group"));
        return new WriteBackReceipt(values.GetValueOrDefault("state"));
    }

    /// <summary>
    /// Tells the caller who the item names as soon as the first wave is in, so directory lookups overlap the second
    /// wave. A requested-for variable that holds another user than the item's field is only known after wave 2.
    /// </summary>
    private void ReportPeople(ReadProgress? progress, Row item, List<Variable> variables, IReadOnlyList<RawApproval> approvals)
    {
        if (progress is null)
        {
            return;
        }

        var itemRequestedFor = Person(item, "requested_for");
        var variable = variables.FirstOrDefault(v => FieldMap.FieldsOf(v.Name).Contains(RequestFields.RequestedFor));
        var requestedFor = variable is null || string.Equals(variable.Value, item["requested_for"], StringComparison.OrdinalIgnoreCase)
            ? itemRequestedFor
            : null;
        var others = approvals.Where(a => a.State == ApprovalState.Approved).Select(a => a.Approver).Where(p => p.ItsmId.Length > 0).ToList();
        progress.PeopleKnown(requestedFor, Person(item, "opened_by"), others);

        var (fields, _) = MapVariables(variables, Lookups.None);
        if (FieldMap.RequestTypeFor(item["cat_item"], item["cat_item.name"]) is { } configuredType)
        {
            fields[RequestFields.RequestType] = configuredType;
        }

        progress.FieldsKnown(fields);
    }

    public async Task<bool> ShowsMarkerAsync(TicketSnapshot ticket, string marker, CancellationToken cancellationToken)
    {
        var sysId = KeyOf(ticket);
        var text = NeutralisedMarker(marker);
        var rows = await _client.ListAsync(
            "sys_journal_field",
            $"element_id={sysId}^valueLIKE{text}^sys_created_by={_options.EffectiveIntegrationUserName}",
            MarkerFields,
            cancellationToken,
            limit: 1);
        return rows.Count > 0;
    }

    /// <summary>Text for a journal field: neutralised for ServiceNow's markup, with the marker on its own last line.</summary>
    private static string Compose(string text, string marker) => Markup.ForServiceNowJournal(text.TrimEnd()) + "\n" + marker;

    /// <summary>The marker as it appears in the journal, checked so it can be searched for safely.</summary>
    private static string NeutralisedMarker(string marker) =>
        ServiceNowQuery.Literal(Markup.ForServiceNowJournal(marker ?? string.Empty), nameof(marker));

    private static string KeyOf(TicketSnapshot ticket) =>
        ticket.Ref.System == TicketSystemKind.ServiceNow
            ? ServiceNowQuery.SysId(ticket.Ref.Key, nameof(ticket))
            : throw new ArgumentException($"{ticket.Ref} is not a ServiceNow ticket.", nameof(ticket));

    private async Task<IReadOnlyList<RawApproval>> ListApprovalsAsync(string taskSysId, ApprovalScope scope, CancellationToken cancellationToken)
    {
        // Task approvals name the task in sysapproval; flow approvals may only fill document_id.
        var rows = await _client.ListAsync("sysapproval_approver", $"sysapproval={taskSysId}^ORdocument_id={taskSysId}^ORDERBYsys_created_on", ApprovalFields, cancellationToken);
        return [.. rows.Select(r => new RawApproval(new Row(r), scope))];
    }

    /// <summary>Users (person variables, delegates) and rejection comments, in at most two parallel calls.</summary>
    private async Task<Lookups> LookUpAsync(IReadOnlyList<RawApproval> approvals, IReadOnlyList<string> personIds, Lookups known, CancellationToken cancellationToken)
    {
        var ids = personIds.Where(id => !known.UsersById.ContainsKey(id)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var names = approvals.Select(ActingUserName).OfType<string>()
            .Where(n => !known.UsersByName.ContainsKey(n) && ServiceNowQuery.IsSafeUserName(n))
            .Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var rejected = approvals.Where(a => a.State == ApprovalState.Rejected && ServiceNowQuery.IsSysId(a.Id)).Select(a => a.Id).ToList();

        var usersTask = ids.Count + names.Count == 0
            ? Task.FromResult<IReadOnlyList<IReadOnlyDictionary<string, string>>>([])
            : _client.ListAsync("sys_user", UserQuery(ids, names), UserFields, cancellationToken);
        var commentsTask = rejected.Count == 0
            ? Task.FromResult<IReadOnlyList<IReadOnlyDictionary<string, string>>>([])
            : _client.ListAsync(
                "sys_journal_field",
                $"name=sysapproval_approver^element=comments^element_idIN{ServiceNowQuery.SysIdList(rejected)}^ORDERBYDESCsys_created_on",
                JournalFields,
                cancellationToken);
        await Task.WhenAll(usersTask, commentsTask);

        var result = new Lookups();
        foreach (var row in (await usersTask).Select(r => new Row(r)))
        {
            var person = Person(row, null);
            if (person is null)
            {
                continue;
            }

            result.UsersById[person.ItsmId] = person;
            if (person.UserName is { } userName)
            {
                result.UsersByName[userName] = person;
            }
        }

        foreach (var row in (await commentsTask).Select(r => new Row(r)))
        {
            // Newest first: the latest comment is the reason given with the rejection.
            result.Comments.TryAdd(row["element_id"], row["value"]);
        }

        return result;
    }

    private static string UserQuery(List<string> ids, List<string> names)
    {
        var byId = ids.Count == 0 ? null : $"sys_idIN{ServiceNowQuery.SysIdList(ids)}";
        var byName = names.Count == 0 ? null : $"user_nameIN{ServiceNowQuery.UserNameList(names)}";
        return byId is not null && byName is not null ? $"{byId}^OR{byName}" : byId ?? byName!;
    }

    private bool NeedsLookUp(IReadOnlyList<RawApproval> approvals, Lookups known) =>
        approvals.Any(a => a.State == ApprovalState.Rejected
            || (ActingUserName(a) is { } name && !known.UsersByName.ContainsKey(name) && ServiceNowQuery.IsSafeUserName(name)));

    /// <summary>
    /// Who acted on a decided approval when it was not the approver: the record's last updater, unless that is
    /// the approver or this service. This is how a delegate's approval shows.
    /// </summary>
    private string? ActingUserName(RawApproval approval)
    {
        if (approval.State is not (ApprovalState.Approved or ApprovalState.Rejected))
        {
            return null;
        }

        var updatedBy = approval.Row["sys_updated_by"];
        if (updatedBy.Length == 0
            || string.Equals(updatedBy, approval.Approver.UserName, StringComparison.OrdinalIgnoreCase)
            || string.Equals(updatedBy, _options.EffectiveIntegrationUserName, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return updatedBy;
    }

    private ApprovalRecord ToRecord(RawApproval approval, Lookups lookups)
    {
        ItsmPerson? actedBy = null;
        if (ActingUserName(approval) is { } name)
        {
            // Not found (or not a plain user name): still someone else, who cannot be matched — never the approver.
            actedBy = lookups.UsersByName.GetValueOrDefault(name) ?? new ItsmPerson(name, UserName: name);
        }

        return new ApprovalRecord(
            approval.Id,
            approval.Approver,
            approval.State,
            approval.State is ApprovalState.Approved or ApprovalState.Rejected ? ServiceNowTime.Parse(approval.Row["sys_updated_on"]) : null,
            approval.Scope,
            actedBy,
            approval.State == ApprovalState.Rejected ? NullIfEmpty(lookups.Comments.GetValueOrDefault(approval.Id)) : null,
            CreatedAt: ServiceNowTime.Parse(approval.Row["sys_created_on"]));
    }

    private (Dictionary<string, string?> Fields, Dictionary<string, ItsmPerson> People) MapVariables(List<Variable> variables, Lookups lookups)
    {
        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        var people = new Dictionary<string, ItsmPerson>(StringComparer.Ordinal);
        foreach (var variable in variables)
        {
            foreach (var field in FieldMap.FieldsOf(variable.Name))
            {
                if (RequestFields.PersonFields.Contains(field))
                {
                    if (variable.Value.Length > 0 && !people.ContainsKey(field))
                    {
                        // A person variable holds a sys_user sys_id. One that does not resolve stays an unmatchable pointer, never a guess.
                        people[field] = lookups.UsersById.GetValueOrDefault(variable.Value) ?? new ItsmPerson(variable.Value);
                    }
                }
                else if (!fields.TryGetValue(field, out var existing) || string.IsNullOrEmpty(existing))
                {
                    fields[field] = ServiceNowFieldMap.NormaliseValue(field, variable.Type, variable.Value);
                }
            }
        }

        return (fields, people);
    }

    private List<FieldChange> MaterialChanges(
        IReadOnlyList<IReadOnlyDictionary<string, string>> itemAudit,
        IReadOnlyList<IReadOnlyDictionary<string, string>> variableAudit,
        List<Variable> materialOptions)
    {
        var changes = new List<FieldChange>();
        foreach (var row in itemAudit.Select(r => new Row(r)))
        {
            if (ServiceNowFieldMap.MaterialItemColumns.TryGetValue(row["fieldname"], out var field))
            {
                Add(row, field);
            }
        }

        var fieldsByOption = materialOptions
            .GroupBy(o => o.OptionId, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => FieldMap.FieldsOf(g.First().Name), StringComparer.OrdinalIgnoreCase);
        foreach (var row in variableAudit.Select(r => new Row(r)))
        {
            foreach (var field in (fieldsByOption.GetValueOrDefault(row["documentkey"]) ?? []).Where(MaterialFields.All.Contains))
            {
                Add(row, field);
            }
        }

        return [.. changes.OrderBy(c => c.At)];

        void Add(Row row, string field)
        {
            if (ServiceNowTime.Parse(row["sys_created_on"]) is { } at && !string.Equals(row["oldvalue"], row["newvalue"], StringComparison.Ordinal))
            {
                changes.Add(new FieldChange(field, at, NullIfEmpty(row["user"]), NullIfEmpty(row["oldvalue"]), NullIfEmpty(row["newvalue"])));
            }
        }
    }

    /// <summary>A person from a record's (dot-walked) user fields; <paramref name="prefix"/> null reads a sys_user row itself.</summary>
    private static ItsmPerson? Person(Row row, string? prefix)
    {
        var id = prefix is null ? row["sys_id"] : row[prefix];
        if (id.Length == 0)
        {
            return null;
        }

        string? Attribute(string name) => NullIfEmpty(row[prefix is null ? name : $"{prefix}.{name}"]);
        return new ItsmPerson(id, Attribute("name"), Attribute("email"), Attribute("employee_number"), Attribute("user_name"));
    }

    private static IEnumerable<string> PersonFields(string prefix) =>
        [prefix, $"{prefix}.name", $"{prefix}.email", $"{prefix}.employee_number", $"{prefix}.user_name"];

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static ApprovalState ParseApprovalState(string state) => state.Trim().ToLowerInvariant() switch
    {
        "approved" => ApprovalState.Approved,
        "rejected" => ApprovalState.Rejected,
        "requested" => ApprovalState.Requested,
        "cancelled" => ApprovalState.Cancelled,
        "not_required" => ApprovalState.NotRequired,
        "not requested" or "not_requested" => ApprovalState.NotRequested,
        "skipped" => ApprovalState.Skipped,

        // An unknown state is not a decision.
        _ => ApprovalState.Requested,
    };

    /// <summary>A flattened record; a missing field reads as empty.</summary>
    private sealed class Row(IReadOnlyDictionary<string, string> values)
    {
        public string this[string name] => values.TryGetValue(name, out var value) ? value : string.Empty;
    }

    private sealed class Variable(Row row)
    {
        public string OptionId { get; } = row["sc_item_option"];
        public string Name { get; } = row["sc_item_option.item_option_new.name"];
        public string Type { get; } = row["sc_item_option.item_option_new.type"];
        public string Value { get; } = row["sc_item_option.value"];
    }

    private sealed class RawApproval(Row row, ApprovalScope scope)
    {
        public Row Row { get; } = row;
        public ApprovalScope Scope { get; } = scope;
        public string Id { get; } = row["sys_id"];
        public ApprovalState State { get; } = ParseApprovalState(row["state"]);
        public ItsmPerson Approver { get; } = Person(row, "approver") ?? new ItsmPerson(string.Empty);
    }

    private sealed class Lookups
    {
        public static readonly Lookups None = new();

        public Dictionary<string, ItsmPerson> UsersById { get; } = new(StringComparer.OrdinalIgnoreCase);
        public Dictionary<string, ItsmPerson> UsersByName { get; } = new(StringComparer.OrdinalIgnoreCase);
        public Dictionary<string, string> Comments { get; } = new(StringComparer.OrdinalIgnoreCase);

        public Lookups With(Lookups more)
        {
            var merged = new Lookups();
            foreach (var source in new[] { this, more })
            {
                foreach (var (k, v) in source.UsersById)
                {
                    merged.UsersById[k] = v;
                }

                foreach (var (k, v) in source.UsersByName)
                {
                    merged.UsersByName[k] = v;
                }

                foreach (var (k, v) in source.Comments)
                {
                    merged.Comments.TryAdd(k, v);
                }
            }

            return merged;
        }
    }

    [LoggerMessage(EventId = 3110, Level = LogLevel.Debug, Message = "ServiceNow read {TicketKey} ({Number}) in {Waves} waves, {Approvals} approvals, {ElapsedMs:0} ms")]
    private partial void LogRead(string ticketKey, string number, int waves, int approvals, double elapsedMs);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "ServiceNow write-back to {TicketKey} ({Number}): {Outcome}, state {State}, reassigned {Reassigned}")]
    private partial void LogWrittenBack(string ticketKey, string number, Outcome outcome, string state, bool reassigned);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Warning, Message = "ServiceNow write-back to {TicketKey}: queue {QueueId} has an assignment group that is not a sys_id; not reassigned")]
    private partial void LogBadAssignmentGroup(string ticketKey, string queueId);
}
