using System.Globalization;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.ServiceNow;

/// <summary>Reconciliation's search: requested items a person changed lately, directly, through an approval or through a variable.</summary>
public sealed partial class ServiceNowTicketSystem
{
    private static readonly string[] ChangedItemFields = ["sys_id", "sys_updated_on"];
    private static readonly string[] ChangedApprovalFields = ["sysapproval", "document_id", "sys_updated_on"];
    private static readonly string[] ApprovedItemFields = ["sys_id", "request", "sys_updated_on"];
    private const string VariableUpdatedOn = "sc_item_option.sys_updated_on";
    private static readonly string[] ChangedVariableFields = ["request_item", VariableUpdatedOn];

    /// <summary>
    /// Active requested items updated since <paramref name="since"/> by anyone but the integration user, and those
    /// whose approvals (on the item or its parent request) or variables were: neither always touches the item. Dates in
    /// encoded queries are compared with the stored UTC values, so the search does not depend on a user's time zone.
    /// Keys are lower-case, as intake makes them. Only items in <see cref="ServiceNowOptions.ReconciliationScope"/> are
    /// searched; without a scope nothing is.
    /// </summary>
    public async Task<ChangedTickets> FindChangedAsync(DateTimeOffset since, int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        if (_options.ReconciliationScope() is not { } scope)
        {
            LogNotReconciled();
            return ChangedTickets.None;
        }

        var from = since.UtcDateTime.ToString(ServiceNowTime.Format, CultureInfo.InvariantCulture);
        var notUs = $"sys_updated_by!={_options.EffectiveIntegrationUserName}";
        var items = _client.ListAsync(ItemTable, $"active=true^{scope}^sys_updated_on>={from}^{notUs}^ORDERBYsys_updated_on", ChangedItemFields, cancellationToken, limit: max);
        var approvalsRead = _client.ListAsync(
            "sysapproval_approver", $"source_tableINsc_req_item,sc_request^sys_updated_on>={from}^{notUs}^ORDERBYsys_updated_on", ChangedApprovalFields, cancellationToken, limit: max);

        // A requester answering a NeedsInfo usually edits variables, which does not always touch the item itself.
        var variablesRead = _client.ListAsync(
            "sc_item_option_mtom", $"sc_item_option.sys_updated_on>={from}^sc_item_option.{notUs}^ORDERBYsc_item_option.sys_updated_on", ChangedVariableFields, cancellationToken, limit: max);
        await Task.WhenAll(items, approvalsRead, variablesRead);
        var approvals = await approvalsRead;
        var variables = await variablesRead;

        // A list that came back full was cut: what changed after its last row is unknown here, so nothing after the
        // earliest such cut is returned (the caller goes on from the last change it gets).
        var cut = DateTimeOffset.MaxValue;
        foreach (var (list, field) in new[] { (await items, "sys_updated_on"), (approvals, "sys_updated_on"), (variables, VariableUpdatedOn) })
        {
            if (list.Count >= max && ServiceNowTime.Parse(list[^1].GetValueOrDefault(field)) is { } last && last < cut)
            {
                cut = last;
            }
        }

        var changed = new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase);
        void Note(string sysId, DateTimeOffset at)
        {
            if (!changed.TryGetValue(sysId, out var known) || known < at)
            {
                changed[sysId] = at;
            }
        }

        foreach (var row in await items)
        {
            if (ServiceNowQuery.IsSysId(row.GetValueOrDefault("sys_id")) && ServiceNowTime.Parse(row.GetValueOrDefault("sys_updated_on")) is { } at)
            {
                Note(row["sys_id"].ToLowerInvariant(), at);
            }
        }

        // An approval names its task (the item, or the request above it) in sysapproval; flow approvals only in document_id.
        var touchedTasks = new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in approvals)
        {
            var task = row.GetValueOrDefault("sysapproval") is { Length: > 0 } s ? s : row.GetValueOrDefault("document_id");
            if (ServiceNowQuery.IsSysId(task) && ServiceNowTime.Parse(row.GetValueOrDefault("sys_updated_on")) is { } at
                && (!touchedTasks.TryGetValue(task!, out var known) || known < at))
            {
                touchedTasks[task!] = at;
            }
        }

        foreach (var row in variables)
        {
            var item = row.GetValueOrDefault("request_item");
            if (ServiceNowQuery.IsSysId(item) && ServiceNowTime.Parse(row.GetValueOrDefault(VariableUpdatedOn)) is { } at
                && (!touchedTasks.TryGetValue(item!, out var known) || known < at))
            {
                touchedTasks[item!] = at;
            }
        }

        if (touchedTasks.Count > 0)
        {
            var ids = ServiceNowQuery.SysIdList(touchedTasks.Keys);
            foreach (var row in await _client.ListAsync(ItemTable, $"active=true^{scope}^sys_idIN{ids}^ORrequestIN{ids}", ApprovedItemFields, cancellationToken))
            {
                var sysId = row.GetValueOrDefault("sys_id");
                if (!ServiceNowQuery.IsSysId(sysId))
                {
                    continue;
                }

                foreach (var task in new[] { sysId!, row.GetValueOrDefault("request") ?? "" })
                {
                    if (touchedTasks.TryGetValue(task, out var at))
                    {
                        Note(sysId!.ToLowerInvariant(), at);
                    }
                }
            }
        }

        var found = changed.Where(c => c.Value <= cut).Select(c => new TicketChange(c.Key, c.Value)).OrderBy(c => c.ChangedAt).ToList();
        return new ChangedTickets([.. found.Take(max)], more: cut != DateTimeOffset.MaxValue || found.Count > max);
    }

    [LoggerMessage(EventId = 3108, Level = LogLevel.Warning, Message = "ServiceNow is not reconciled: set ServiceNow:CatalogItems or ServiceNow:ReconciliationQuery so lost webhooks are found")]
    private partial void LogNotReconciled();
}
