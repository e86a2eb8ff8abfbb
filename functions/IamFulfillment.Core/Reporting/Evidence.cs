using System.Globalization;
using System.Text;
using System.Text.Json;
using IamFulfillment.Core.Audit;

namespace IamFulfillment.Core.Reporting;

/// <summary>One finished round of one ticket, as an auditor samples it.</summary>
public sealed record EvidenceRow
{
    public required string System { get; init; }
    public required string Ticket { get; init; }
    public string? Number { get; init; }
    public string? Round { get; init; }
    public string? RequestType { get; init; }
    public string? Requester { get; init; }
    public string? Target { get; init; }
    public string? Entitlements { get; init; }
    public string? Approvals { get; init; }
    public string? Outcome { get; init; }
    public string? Rule { get; init; }
    public string? DecidedBy { get; init; }
    public string? Changes { get; init; }
    public bool DryRun { get; init; }
    public DateTimeOffset? Received { get; init; }
    public DateTimeOffset? Decided { get; init; }
    public DateTimeOffset? Completed { get; init; }
    public string? PolicyVersion { get; init; }
    public bool ChainValid { get; init; } = true;

    /// <summary>For escalations: the rule, the reasons, the queue and what was verified were all recorded.</summary>
    public bool EscalationComplete { get; init; }

    public TimeSpan? Elapsed => Received is { } r && Completed is { } c ? c - r : null;
}

/// <summary>Turns audit events into evidence rows and writes them as CSV (formula-safe) or JSON.</summary>
public static class Evidence
{
    public static IReadOnlyList<EvidenceRow> Rows(IEnumerable<AuditEvent> events)
    {
        var rows = new List<EvidenceRow>();
        foreach (var ticket in events.GroupBy(e => e.Ticket))
        {
            var ordered = ticket.OrderBy(e => e.Sequence).ToList();
            var chainValid = ordered.All(e => e.HashIsValid());
            foreach (var round in ordered.Where(e => e.Round is not null).GroupBy(e => e.Round))
            {
                var list = round.ToList();
                var completed = list.LastOrDefault(e => e.Kind == AuditKinds.RoundCompleted);
                var decision = list.LastOrDefault(e => e.Kind == AuditKinds.Decision);
                if (completed is null && decision is null)
                {
                    continue;
                }

                var request = list.LastOrDefault(e => e.Kind == AuditKinds.Request);
                var read = list.FirstOrDefault(e => e.Kind == AuditKinds.TicketRead);
                var started = list.FirstOrDefault(e => e.Kind == AuditKinds.ProcessingStarted);
                var changes = list.Where(e => e.Kind is AuditKinds.ChangeApplied or AuditKinds.ChangeFailed or AuditKinds.GrantExpired)
                    .Select(e => $"{Get(e, "step") ?? "expiry:" + Get(e, "group")}={Get(e, "status")}{(Get(e, "requestId") is { } id ? "#" + id : "")}@{e.At.UtcDateTime:O}");
                rows.Add(new EvidenceRow
                {
                    System = ticket.Key.System.ToString(),
                    Ticket = ticket.Key.Key,
                    Number = Get(read, "number"),
                    Round = round.Key,
                    RequestType = Get(request, "type"),
                    Requester = Get(request, "requesterUpn") ?? Get(request, "requesterId"),
                    Target = Get(request, "targetUpn") ?? Get(request, "targetId"),
                    Entitlements = Get(request, "entitlements"),
                    Approvals = Get(request, "approvals")?.Replace("\n", "; ", StringComparison.Ordinal),
                    Outcome = Get(completed, "outcome") ?? Get(decision, "outcome"),
                    Rule = Get(completed, "rule") ?? Get(decision, "rule"),
                    DecidedBy = Get(decision, "decidedBy"),
                    Changes = string.Join("; ", changes),
                    DryRun = Get(decision, "dryRun") == "true",
                    Received = started?.At,
                    Decided = decision?.At,
                    Completed = completed?.At,
                    PolicyVersion = Get(decision, "policy"),
                    ChainValid = chainValid,
                    EscalationComplete = Get(decision, "reasons") is not null && Get(decision, "queue") is not null
                        && list.Any(e => e.Kind == AuditKinds.Checks && e.Data.ContainsKey("verified")),
                });
            }
        }

        return rows.OrderBy(r => r.Completed ?? r.Decided).ToList();
    }

    private static readonly string[] Columns =
    [
        "system", "ticket", "number", "round", "requestType", "requester", "target", "entitlements", "approvals", "outcome",
        "rule", "decidedBy", "changes", "dryRun", "received", "decided", "completed", "elapsedSeconds", "policyVersion", "chainValid",
    ];

    public static string ToCsv(IEnumerable<EvidenceRow> rows)
    {
        var text = new StringBuilder().AppendJoin(',', Columns).Append("\r\n");
        foreach (var row in rows)
        {
            string?[] cells =
            [
                row.System, row.Ticket, row.Number, row.Round, row.RequestType, row.Requester, row.Target, row.Entitlements, row.Approvals,
                row.Outcome, row.Rule, row.DecidedBy, row.Changes, row.DryRun ? "true" : "false", Stamp(row.Received), Stamp(row.Decided),
                Stamp(row.Completed), row.Elapsed?.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture), row.PolicyVersion, row.ChainValid ? "true" : "false",
            ];
            text.AppendJoin(',', cells.Select(Cell)).Append("\r\n");
        }

        return text.ToString();
    }

    public static string ToJson(IEnumerable<EvidenceRow> rows) =>
        JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });

    /// <summary>
    /// A CSV cell that no spreadsheet runs as a formula: cells starting with = + - @ (or a tab/carriage return that
    /// some tools strip first) get a leading apostrophe; quotes, commas and line breaks are quoted.
    /// </summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static string? Get(AuditEvent? e, string key) => e is not null && e.Data.TryGetValue(key, out var value) ? value : null;

    private static string? Stamp(DateTimeOffset? at) => at?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
