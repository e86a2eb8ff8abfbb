using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RestSharp;

namespace IamFulfillment.Connectors.Jira;

/// <summary>
/// Jira Service Management as the core's ticket system. A read is one wave of three parallel calls (the JSM request,
/// its approvals, the platform issue with hidden fields, changelog and the transitions available now), because
/// end-to-end latency is measured against the round-trip floor. A write-back is one wave of parallel calls too
/// (customer comment ∥ internal note ∥ transition ∥ escalation fields): Jira has no call that writes them together.
/// Since the note no longer comes last, it says what it was sent with (<see cref="JiraNoteRecord"/>), and the
/// write-back counts as done only once each of those parts is seen on the ticket; one that broke off half-way is
/// completed, never repeated.
/// </summary>
public sealed partial class JiraTicketSystem : ITicketSystem
{
    private const int ApprovalPageSize = 50;
    private const int CommentPageSize = 100;
    private const int ChangelogPageSize = 100;
    private const int SearchPageSize = 100;
    private const int MaxPages = 100;
    private const int MaxCommentLength = 32_000;

    private readonly JiraClient _client;
    private readonly JiraOptions _options;
    private readonly JiraFieldMap _fieldMap;
    private readonly TimeProvider _time;
    private readonly ILogger<JiraTicketSystem> _logger;
    private readonly string _issueFields;
    private readonly string? _requestTypeField;
    private readonly string _searchFields;
    private readonly IReadOnlyList<string> _awaiting;

    // What the read saw of the workflow, for the write-back of the same snapshot: it saves the GET of transitions.
    private readonly ConditionalWeakTable<TicketSnapshot, Workflow> _workflows = [];

    // Where a configured transition leads, per project, as learned from earlier answers: lets a repeated write-back see
    // that the issue is already where the transition would take it.
    private readonly ConcurrentDictionary<(string Project, string Setting), string> _knownTargets = new();

    public JiraTicketSystem(JiraClient client, IOptions<JiraOptions> options, TimeProvider time, ILogger<JiraTicketSystem> logger)
    {
        _client = client;
        _options = options.Value;
        _fieldMap = new JiraFieldMap(_options);
        _time = time;
        _logger = logger;
        _issueFields = string.Join(",", _fieldMap.FieldsToRead());
        _requestTypeField = string.IsNullOrWhiteSpace(_options.RequestTypeField) ? null : _options.RequestTypeField.Trim();
        _searchFields = _requestTypeField is null ? "updated" : $"updated,{_requestTypeField}";
        _awaiting = _options.AwaitingStatusNames;
    }

    public TicketSystemKind Kind => TicketSystemKind.Jira;

    public Task<TicketSnapshot> ReadAsync(string key, CancellationToken cancellationToken) => ReadAsync(key, null, cancellationToken);

    public async Task<TicketSnapshot> ReadAsync(string key, ReadProgress? progress, CancellationToken cancellationToken)
    {
        var ticket = new TicketRef(TicketSystemKind.Jira, key);
        if (!IsIssueKey(key))
        {
            throw new TicketNotFoundException(ticket);
        }

        var requestTask = _client.GetAsync($"rest/servicedeskapi/request/{key}", [], "GET request", cancellationToken);
        var approvalsTask = ReadApprovalsAsync(key, cancellationToken);
        var issueTask = _client.GetAsync($"rest/api/3/issue/{key}",
            [new("fields", _issueFields), new("expand", "changelog,transitions")], "GET issue", cancellationToken);
        try
        {
            await Task.WhenAll(requestTask, approvalsTask, issueTask);
        }
        catch
        {
            DisposeAll(requestTask, issueTask);
            throw;
        }

        using var request = requestTask.Result;
        using var issue = issueTask.Result;
        var approvals = approvalsTask.Result;
        if (request is null || issue is null || approvals is null)
        {
            throw new TicketNotFoundException(ticket);
        }

        var histories = await ReadChangelogAsync(key, issue.RootElement, cancellationToken);
        var snapshot = Map(ticket, request.RootElement, issue.RootElement, approvals, histories);
        progress?.Completed(snapshot);
        _workflows.AddOrUpdate(snapshot, ReadWorkflow(issue.RootElement, histories));
        LogRead(_logger, key, snapshot.RawState, snapshot.Approvals.Count, snapshot.MaterialChanges.Count);
        return snapshot;
    }

    public async Task<WriteBackReceipt> WriteBackAsync(TicketSnapshot ticket, WriteBack writeBack, CancellationToken cancellationToken)
    {
        var key = ticket.Ref.Key;
        if (!IsIssueKey(key))
        {
            throw new TicketNotFoundException(ticket.Ref);
        }

        // Resuming a write-back that broke off: look first at what of it is already on the ticket, so that nothing
        // is written twice and the plan below can see a transition that already landed.
        var landed = writeBack.Resume ? await LandedAsync(key, writeBack, cancellationToken) : Landed.Nothing;

        // Decide the transition before writing anything: a refused transition must not leave a comment behind it.
        // An escalation is the exception: people must see it even when the workflow will not move the ticket,
        // so it is written without the move and the note says why.
        TransitionPlan? plan = null;
        string? unmoved = null;
        if (writeBack.ChangeState)
        {
            try
            {
                plan = await PlanTransitionAsync(ticket, writeBack, landed, cancellationToken);
            }
            catch (ConnectorException ex) when (writeBack.Outcome == Outcome.Escalated && ex.Status is null && ex is not TransientConnectorException)
            {
                unmoved = ex.Message;
                LogEscalatedUnmoved(_logger, key, ticket.RawState);
            }
        }

        var fields = writeBack.ChangeState && writeBack.Outcome == Outcome.Escalated && writeBack.Queue is { JiraFields.Count: > 0 } queue
            ? queue.JiraFields
            : null;
        if (writeBack.Resume)
        {
            LogResumed(_logger, key, writeBack.Marker, landed.CustomerComment, landed.Note, plan is { Transition: null, AlreadyAt: not null });
        }

        var comment = !string.IsNullOrWhiteSpace(writeBack.CustomerComment) && !landed.CustomerComment ? writeBack.CustomerComment : null;
        var note = unmoved is null ? writeBack.InternalNote : $"{writeBack.InternalNote}\n\nThe ticket was not moved to the escalation queue's status: {unmoved}".TrimStart();
        note = !string.IsNullOrWhiteSpace(note) && !landed.Note ? note : null;
        var transition = plan?.Transition;

        // One wave: the note goes with the other parts and says which they are, so a later look can tell a
        // write-back that broke off from a whole one. Only a transition whose target Jira did not name cannot be
        // looked for; then the note waits for it and, written last, needs no record.
        var noteWaits = transition is { TargetStatus: null };
        var target = noteWaits ? null : transition?.TargetStatus;
        var record = new JiraNoteRecord(comment is not null, target, target is null ? null : ServiceMovesSeen(ticket, target), fields is not null);
        var writes = new List<Task>();
        if (comment is not null)
        {
            writes.Add(CommentAsync(key, comment, writeBack.Marker, isPublic: true, record: null, cancellationToken));
        }

        if (transition is not null)
        {
            writes.Add(TransitionAsync(ticket, plan!, transition, cancellationToken));
        }

        if (fields is not null)
        {
            writes.Add(SetFieldsAsync(key, fields, cancellationToken));
        }

        if (note is not null && !noteWaits)
        {
            writes.Add(CommentAsync(key, note, writeBack.Marker, isPublic: false, record.IsEmpty ? null : record, cancellationToken));
        }

        await Task.WhenAll(writes);
        if (note is not null && noteWaits)
        {
            await CommentAsync(key, note, writeBack.Marker, isPublic: false, record: null, cancellationToken);
        }

        var state = plan?.TargetStatus;
        LogWritten(_logger, key, writeBack.Outcome, comment is not null, note is not null, transition?.Name, state, fields?.Count ?? 0);
        return new WriteBackReceipt(state);
    }

    /// <summary>
    /// True when the internal note carrying <paramref name="marker"/> is on the ticket and so is every part its record
    /// says it was sent with: the customer comment with the marker, and the issue in the transition's target status
    /// (or moved there by the integration account once more than the write-back's read saw, in case a person has
    /// moved it on since). The note is written in the same wave as those parts, so on its own it proves
    /// only itself. Queue fields cannot be confirmed by a read, so a write-back that set them is never shown whole
    /// here: it is resumed with <see cref="WriteBack.Resume"/>, which sets them again (harmless) and repeats nothing.
    /// A note without a record was written last and stands for the whole write-back.
    /// </summary>
    public async Task<bool> ShowsMarkerAsync(TicketSnapshot ticket, string marker, CancellationToken cancellationToken)
    {
        var key = ticket.Ref.Key;
        if (!IsIssueKey(key))
        {
            throw new TicketNotFoundException(ticket.Ref);
        }

        var marked = await MarkedCommentsAsync(key, marker, cancellationToken);
        if (!marked.Internal)
        {
            return false;
        }

        if (marked.Record is not { } record)
        {
            return true;
        }

        if (!record.IsReadable || record.QueueFields || (record.CustomerComment && !marked.Public))
        {
            return false;
        }

        // The status is read now rather than taken from the snapshot, which may be older than the write-back.
        return record.TargetStatus is not { } target || TransitionLanded(target, record, await ReadIssueNowAsync(key, cancellationToken));
    }

    /// <summary>
    /// Open issues updated at or after <paramref name="since"/>, oldest first, from Jira's enhanced search. The JQL
    /// gives the time relative to now, in whole minutes rounded up plus one, because Jira reads an absolute date in the
    /// integration account's time zone; what the rounding lets in from before <paramref name="since"/> is dropped
    /// here. JQL cannot say who made a change, so the service's own write-backs are found too.
    /// </summary>
    public async Task<ChangedTickets> FindChangedAsync(DateTimeOffset since, int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        if (string.IsNullOrWhiteSpace(_options.ReconciliationJql))
        {
            LogNotReconciled(_logger);
            return ChangedTickets.None;
        }

        // A minute more than asked: Jira's "now" comes a little after ours (latency, clock skew), and a window that
        // starts after since would miss its first changes.
        var minutes = Math.Max(1, (long)Math.Ceiling((_time.GetUtcNow() - since).TotalMinutes)) + 1;
        var jql = $"({_options.ReconciliationJql.Trim()}) AND updated >= \"-{minutes.ToString(CultureInfo.InvariantCulture)}m\" AND statusCategory != Done ORDER BY updated ASC";

        // By key: an issue updated again while the pages are read moves to the end and may be seen twice.
        var found = new Dictionary<string, TicketChange>(StringComparer.Ordinal);
        string? token = null;
        var pages = 0;
        var more = true;
        while (pages < MaxPages && found.Count < max)
        {
            pages++;
            List<KeyValuePair<string, string>> query =
            [
                new("jql", jql), new("fields", _searchFields), new("maxResults", Number(Math.Min(SearchPageSize, max - found.Count))),
            ];
            if (token is not null)
            {
                query.Add(new("nextPageToken", token));
            }

            using var document = await _client.GetAsync("rest/api/3/search/jql", query, "GET search", cancellationToken)
                                 ?? throw new ConnectorException(JiraErrors.System, 404, "GET search: the site does not offer the enhanced search (rest/api/3/search/jql)");
            var root = document.RootElement;
            var size = 0;
            foreach (var issue in Issues(root))
            {
                size++;
                if (ChangeOf(issue) is { } change && change.ChangedAt >= since
                    && (found.TryGetValue(change.Key, out var seen) ? change.ChangedAt > seen.ChangedAt : found.Count < max))
                {
                    found[change.Key] = change;
                }
            }

            // On the last page Jira leaves nextPageToken out (it does not send null) and/or says isLast.
            var next = JiraFieldMap.Str(root, "nextPageToken");
            if (size == 0 || string.IsNullOrEmpty(next) || next == token || IsLastPage(root))
            {
                more = false;
                break;
            }

            token = next;
        }

        var changes = found.Values.OrderBy(c => c.ChangedAt).ThenBy(c => c.Key, StringComparer.Ordinal).Take(max).ToList();
        LogFound(_logger, changes.Count, since, pages);
        return new ChangedTickets(changes, more);
    }

    /// <summary>A search hit as a change: its key, its <c>updated</c> time and, from the request type field, where it was raised.</summary>
    private TicketChange? ChangeOf(JsonElement issue)
    {
        if (JiraFieldMap.Str(issue, "key") is not { Length: > 0 } key || Property(issue, "fields") is not { } fields
            || !JiraFieldMap.TryParseTime(JiraFieldMap.Str(fields, "updated"), out var updated))
        {
            return null;
        }

        var requestType = _requestTypeField is not null && Property(fields, _requestTypeField) is { } field ? Property(field, "requestType") : null;
        return requestType is { } type
            ? new TicketChange(key, updated, Text(type, "serviceDeskId"), Text(type, "id"))
            : new TicketChange(key, updated);
    }

    /// <summary>What of a write-back that broke off is on the ticket already (see <see cref="WriteBack.Resume"/>).</summary>
    private async Task<Landed> LandedAsync(string key, WriteBack writeBack, CancellationToken cancellationToken)
    {
        var markedTask = MarkedCommentsAsync(key, writeBack.Marker, cancellationToken);
        var nowTask = writeBack.ChangeState ? ReadIssueNowAsync(key, cancellationToken) : Task.FromResult<IssueNow?>(null);
        await Task.WhenAll(markedTask, nowTask);
        var marked = markedTask.Result;
        return new Landed(marked.Public, marked.Internal, marked.Record, nowTask.Result);
    }

    /// <summary>
    /// Whether the transition to <paramref name="target"/> is done: the issue is there now, or the note's record names
    /// that transition and the changelog shows the integration account moving the issue there more often than the
    /// write-back's read saw (a person may have moved it on since; taking the transition again would undo that).
    /// </summary>
    private bool TransitionLanded(string target, JiraNoteRecord? record, IssueNow? now) =>
        now is not null
        && (string.Equals(now.Status, target, StringComparison.OrdinalIgnoreCase)
            || (record is { TargetStatus: { } recorded, EarlierMoves: { } earlier } && string.Equals(recorded, target, StringComparison.OrdinalIgnoreCase)
                && ServiceMovesTo(now.Moves, target) > earlier));

    /// <summary>
    /// Which of the service's comments (customer-visible, internal) already carry <paramref name="marker"/>, and the
    /// record of the internal note that does.
    /// </summary>
    private async Task<Marked> MarkedCommentsAsync(string key, string marker, CancellationToken cancellationToken)
    {
        var ticket = new TicketRef(TicketSystemKind.Jira, key);
        var escaped = MarkerLine(marker);
        var (isPublic, isInternal) = (false, false);
        JiraNoteRecord? record = null;
        var start = 0;
        for (var page = 0; page < MaxPages; page++)
        {
            using var document = await _client.GetAsync($"rest/servicedeskapi/request/{key}/comment",
                [new("public", "true"), new("internal", "true"), new("start", Number(start)), new("limit", Number(CommentPageSize))],
                "GET comments", cancellationToken) ?? throw new TicketNotFoundException(ticket);
            var root = document.RootElement;
            var size = 0;
            foreach (var comment in Values(root))
            {
                size++;
                var author = comment.TryGetProperty("author", out var a) ? JiraFieldMap.Str(a, "accountId") : null;
                var body = JiraFieldMap.Str(comment, "body");
                if (string.Equals(author, _options.IntegrationAccountId, StringComparison.Ordinal) && body is not null
                    && (body.Contains(escaped, StringComparison.Ordinal) || body.Contains(marker, StringComparison.Ordinal)))
                {
                    // JSM marks comments "public": false for internal ones; a comment without the flag is public.
                    if (comment.TryGetProperty("public", out var flag) && flag.ValueKind == JsonValueKind.False)
                    {
                        isInternal = true;
                        record = RecordIn(body, marker);
                    }
                    else
                    {
                        isPublic = true;
                    }
                }
            }

            if ((isPublic && isInternal) || size == 0 || IsLastPage(root))
            {
                break;
            }

            start += size;
        }

        return new Marked(isPublic, isInternal, record);
    }

    /// <summary>
    /// The record of a note: the line above the last line that carries the marker. The text above that is ticket text
    /// (neutralised, but a person could have typed a record into it); the line right above the marker is always the
    /// service's own, and a record typed further up is never read.
    /// </summary>
    internal static JiraNoteRecord? RecordIn(string body, string marker)
    {
        var escaped = MarkerLine(marker);
        var lines = body.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var at = Array.FindLastIndex(lines, l => l.Contains(escaped, StringComparison.Ordinal) || l.Contains(marker, StringComparison.Ordinal));
        return at > 0 ? JiraNoteRecord.Parse(lines[at - 1]) : null;
    }

    /// <summary>The line a marker is written as: neutralised like the text above it, so it renders as itself and is found as written.</summary>
    internal static string MarkerLine(string marker) => Markup.ForJiraWiki(marker);

    /// <summary>
    /// The comment body: the neutralised text, then the note's record (if any) and the marker on its own last line.
    /// Jira refuses text fields over 32,767 characters, and escaping can double the length, so an overlong text is
    /// shortened before it is escaped (never cutting an escape in two) and the record and the marker always survive.
    /// </summary>
    internal static string CommentBody(string text, string marker, JiraNoteRecord? record = null)
    {
        var tail = (record is null ? "" : "\n" + Markup.ForJiraWiki(record.Line())) + "\n" + MarkerLine(marker);
        var room = MaxCommentLength - tail.Length - 1;
        var plain = text.TrimEnd();
        var escaped = Markup.ForJiraWiki(plain);
        while (escaped.Length > room && plain.Length > 0)
        {
            plain = plain[..Math.Max(0, plain.Length - Math.Max(1, (escaped.Length - room + 1) / 2) - 1)];
            escaped = Markup.ForJiraWiki(plain) + "…";
        }

        return escaped + tail;
    }

    internal static bool IsIssueKey(string? key) => key is { Length: <= 64 } && IssueKey().IsMatch(key);

    private TicketSnapshot Map(TicketRef ticket, JsonElement request, JsonElement issue, IReadOnlyList<ApprovalRecord> approvals, IReadOnlyList<JsonElement> histories)
    {
        var issueFields = issue.TryGetProperty("fields", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
        var key = JiraFieldMap.Str(request, "issueKey") ?? JiraFieldMap.Str(issue, "key") ?? ticket.Key;
        var requestTypeId = Text(request, "requestTypeId");

        // Status: the JSM view first (it carries the category), the platform status as a fallback.
        string? statusName = null;
        string? category = null;
        if (request.TryGetProperty("currentStatus", out var current) && current.ValueKind == JsonValueKind.Object)
        {
            statusName = JiraFieldMap.Str(current, "status");
            category = JiraFieldMap.Str(current, "statusCategory");
        }

        if (Property(issueFields, "status") is { ValueKind: JsonValueKind.Object } status)
        {
            statusName ??= JiraFieldMap.Str(status, "name");
            category ??= status.TryGetProperty("statusCategory", out var c) ? JiraFieldMap.Str(c, "key") : null;
        }

        statusName ??= string.Empty;
        var reporter = (request.TryGetProperty("reporter", out var r) ? JiraFieldMap.ToPerson(r) : null)
                       ?? (Property(issueFields, "reporter") is { } issueReporter ? JiraFieldMap.ToPerson(issueReporter) : null);
        var creator = Property(issueFields, "creator") is { } c2 ? JiraFieldMap.ToPerson(c2) : null;

        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        var people = new Dictionary<string, ItsmPerson>(StringComparer.Ordinal);
        var requestedForAmbiguous = false;
        foreach (var (name, fieldId) in _fieldMap.Mapped)
        {
            var value = Property(issueFields, fieldId);
            if (RequestFields.PersonFields.Contains(name))
            {
                if (value is { } v)
                {
                    if (JiraFieldMap.ToSinglePerson(v, out var several) is { } person)
                    {
                        people[name] = person;
                    }
                    else if (several && name == RequestFields.RequestedFor)
                    {
                        requestedForAmbiguous = true;
                    }
                }
            }
            else
            {
                fields[name] = value is { } v ? JiraFieldMap.ToText(v) : null;
            }
        }

        // In JSM the reporter is the customer the request is for; a mapped Requested-for field wins when it is set.
        if (!people.ContainsKey(RequestFields.RequestedFor) && !requestedForAmbiguous && reporter is not null)
        {
            people[RequestFields.RequestedFor] = reporter;
        }

        if (requestTypeId is not null && _options.RequestTypes.TryGetValue(requestTypeId, out var requestType) && RequestTypes.TryParse(requestType, out var parsed))
        {
            fields[RequestFields.RequestType] = parsed.ToString();
        }

        return new TicketSnapshot
        {
            Ref = ticket,
            Number = key,
            Url = new Uri(_client.BaseUrl, "browse/" + key).ToString(),
            Status = StatusOf(statusName, category),
            RawState = statusName,
            OpenedBy = creator ?? reporter,
            People = people,
            CatalogItem = requestTypeId,
            Fields = fields,
            Approvals = approvals,
            MaterialChanges = MaterialChanges(histories),
            CreatedAt = JiraFieldMap.TryParseTime(StrOrNull(issueFields, "created"), out var created) ? created : null,
            UpdatedAt = JiraFieldMap.TryParseTime(StrOrNull(issueFields, "updated"), out var updated) ? updated : null,
            Summary = StrOrNull(issueFields, "summary") ?? JiraFieldMap.Str(request, "summary"),
        };
    }

    private TicketStatus StatusOf(string statusName, string? category)
    {
        if (string.Equals(category, "DONE", StringComparison.OrdinalIgnoreCase))
        {
            return TicketStatus.Closed;
        }

        if (_awaiting.Contains(statusName, StringComparer.OrdinalIgnoreCase))
        {
            return TicketStatus.AwaitingCustomer;
        }

        return string.Equals(category, "NEW", StringComparison.OrdinalIgnoreCase) ? TicketStatus.Open : TicketStatus.InProgress;
    }

    private List<FieldChange> MaterialChanges(IReadOnlyList<JsonElement> histories)
    {
        var changes = new List<FieldChange>();
        foreach (var history in histories)
        {
            var author = history.TryGetProperty("author", out var a) ? JiraFieldMap.Str(a, "accountId") : null;
            if (string.Equals(author, _options.IntegrationAccountId, StringComparison.Ordinal)
                || !JiraFieldMap.TryParseTime(JiraFieldMap.Str(history, "created"), out var at)
                || !history.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var item in items.EnumerateArray())
            {
                if (_fieldMap.MaterialChangeOf(JiraFieldMap.Str(item, "fieldId"), JiraFieldMap.Str(item, "field")) is { } name)
                {
                    changes.Add(new FieldChange(name, at, author, JiraFieldMap.Str(item, "fromString"), JiraFieldMap.Str(item, "toString")));
                }
            }
        }

        return changes.OrderBy(c => c.At).ToList();
    }

    /// <summary>Every approval page (JSM pages with isLastPage); null when the request does not exist.</summary>
    private async Task<IReadOnlyList<ApprovalRecord>?> ReadApprovalsAsync(string key, CancellationToken cancellationToken)
    {
        var records = new List<ApprovalRecord>();
        var start = 0;
        for (var page = 0; page < MaxPages; page++)
        {
            using var document = await _client.GetAsync($"rest/servicedeskapi/request/{key}/approval",
                [new("start", Number(start)), new("limit", Number(ApprovalPageSize))], "GET approvals", cancellationToken);
            if (document is null)
            {
                return null;
            }

            var size = 0;
            foreach (var approval in Values(document.RootElement))
            {
                size++;
                records.AddRange(ApprovalRecords(approval));
            }

            if (size == 0 || IsLastPage(document.RootElement))
            {
                break;
            }

            start += size;
        }

        return records;
    }

    private static IEnumerable<ApprovalRecord> ApprovalRecords(JsonElement approval)
    {
        var id = Text(approval, "id") ?? "approval";
        var finalDecision = JiraFieldMap.Str(approval, "finalDecision");
        var decided = finalDecision is "approved" or "declined";
        var completed = approval.TryGetProperty("completedDate", out var cd) ? JiraFieldMap.ParseServiceDeskDate(cd) : null;
        var createdAt = approval.TryGetProperty("createdDate", out var cr) ? JiraFieldMap.ParseServiceDeskDate(cr) : null;
        var name = JiraFieldMap.Str(approval, "name");
        if (!approval.TryGetProperty("approvers", out var approvers) || approvers.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var entry in approvers.EnumerateArray())
        {
            if (!entry.TryGetProperty("approver", out var user) || JiraFieldMap.ToPerson(user) is not { } person)
            {
                continue;
            }

            var state = JiraFieldMap.Str(entry, "approverDecision") switch
            {
                "approved" => ApprovalState.Approved,
                "declined" => ApprovalState.Rejected,

                // Once the approval is decided, an approver who never answered was not needed: not "still pending".
                "pending" when decided => ApprovalState.NotRequired,
                _ => ApprovalState.Requested,
            };

            // JSM records when the approval as a whole completed, not each approver's click.
            var decidedAt = state is ApprovalState.Approved or ApprovalState.Rejected && decided ? completed : null;
            yield return new ApprovalRecord($"{id}:{person.ItsmId}", person, state, decidedAt, ApprovalScope.Item, StageName: name, CreatedAt: createdAt);
        }
    }

    /// <summary>
    /// The changelog as the issue read returned it, completed from the paged changelog endpoint when Jira cut it short
    /// (the expansion holds only the most recent histories).
    /// </summary>
    private async Task<IReadOnlyList<JsonElement>> ReadChangelogAsync(string key, JsonElement issue, CancellationToken cancellationToken)
    {
        var histories = new List<JsonElement>();
        var total = 0;
        if (issue.TryGetProperty("changelog", out var changelog) && changelog.ValueKind == JsonValueKind.Object)
        {
            if (changelog.TryGetProperty("histories", out var h) && h.ValueKind == JsonValueKind.Array)
            {
                histories.AddRange(h.EnumerateArray().Select(e => e.Clone()));
            }

            total = changelog.TryGetProperty("total", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out var n) ? n : histories.Count;
        }

        if (total <= histories.Count)
        {
            return histories;
        }

        // The total is known, so every page can be asked for at once.
        var pages = Enumerable.Range(0, Math.Min(MaxPages, (total + ChangelogPageSize - 1) / ChangelogPageSize))
            .Select(async page =>
            {
                using var document = await _client.GetAsync($"rest/api/3/issue/{key}/changelog",
                    [new("startAt", Number(page * ChangelogPageSize)), new("maxResults", Number(ChangelogPageSize))], "GET changelog", cancellationToken);
                return document is null ? [] : Values(document.RootElement).Select(e => e.Clone()).ToList();
            })
            .ToList();
        await Task.WhenAll(pages);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var all = new List<JsonElement>();
        foreach (var history in pages.SelectMany(p => p.Result).Concat(histories))
        {
            if (Text(history, "id") is not { } id || seen.Add(id))
            {
                all.Add(history);
            }
        }

        return all;
    }

    /// <summary>The integration account made the issue's last status move (this service's own transition).</summary>
    public bool ClosedByOwnWriteBack(TicketSnapshot ticket) =>
        _workflows.TryGetValue(ticket, out var workflow) && string.Equals(workflow.StatusSetBy, _options.IntegrationAccountId, StringComparison.Ordinal);

    private static Workflow ReadWorkflow(JsonElement issue, IReadOnlyList<JsonElement> histories)
    {
        var transitions = new List<Transition>();
        if (issue.TryGetProperty("transitions", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            transitions.AddRange(ParseTransitions(list));
        }

        // Who moved the issue to its current status: the latest history with a status item.
        string? statusSetBy = null;
        var latest = DateTimeOffset.MinValue;
        foreach (var history in histories)
        {
            if (history.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array
                && items.EnumerateArray().Any(i => string.Equals(JiraFieldMap.Str(i, "field"), "status", StringComparison.OrdinalIgnoreCase))
                && JiraFieldMap.TryParseTime(JiraFieldMap.Str(history, "created"), out var at) && at >= latest)
            {
                latest = at;
                statusSetBy = history.TryGetProperty("author", out var author) ? JiraFieldMap.Str(author, "accountId") : null;
            }
        }

        return new Workflow(transitions, statusSetBy, StatusMoves(histories));
    }

    private static IEnumerable<Transition> ParseTransitions(JsonElement list)
    {
        foreach (var item in list.EnumerateArray())
        {
            if (Text(item, "id") is not { } id)
            {
                continue;
            }

            var to = item.TryGetProperty("to", out var t) ? JiraFieldMap.Str(t, "name") : null;
            if (item.TryGetProperty("isAvailable", out var available) && available.ValueKind == JsonValueKind.False)
            {
                continue;
            }

            yield return new Transition(id, JiraFieldMap.Str(item, "name") ?? id, to);
        }
    }

    private async Task<TransitionPlan?> PlanTransitionAsync(TicketSnapshot ticket, WriteBack writeBack, Landed landed, CancellationToken cancellationToken)
    {
        var (setting, settingKey) = writeBack.Outcome switch
        {
            Outcome.Fulfilled => (_options.Transitions.Fulfilled, "Jira:Transitions:Fulfilled"),
            Outcome.NeedsInfo => (_options.Transitions.NeedsInfo, "Jira:Transitions:NeedsInfo"),
            Outcome.Rejected => (_options.Transitions.Rejected, "Jira:Transitions:Rejected"),
            _ when !string.IsNullOrWhiteSpace(writeBack.Queue?.JiraTransition) => (writeBack.Queue!.JiraTransition!, $"the policy queue '{writeBack.Queue.Id}' (jiraTransition)"),
            _ => (_options.Transitions.Escalated, "Jira:Transitions:Escalated"),
        };

        if (string.IsNullOrWhiteSpace(setting))
        {
            return null;
        }

        setting = setting.Trim();

        // Resuming, and the note of this write-back shows its transition landed: never take it a second time.
        if (landed.Record is { TargetStatus: { } recorded } && TransitionLanded(recorded, landed.Record, landed.Now))
        {
            return new TransitionPlan(setting, settingKey, null) { AlreadyAt = recorded };
        }

        var project = ticket.Ref.Key[..ticket.Ref.Key.LastIndexOf('-')];
        var current = landed.Now?.Status ?? ticket.RawState;
        if (_workflows.TryGetValue(ticket, out var workflow) && Resolve(workflow.Transitions, setting) is { } cached)
        {
            Learn(project, setting, cached);
            return Planned(setting, settingKey, cached, current);
        }

        // Not seen with this snapshot (or not available then): ask the workflow now.
        var available = await GetTransitionsAsync(ticket.Ref.Key, cancellationToken);
        if (Resolve(available, setting) is { } resolved)
        {
            Learn(project, setting, resolved);
            return Planned(setting, settingKey, resolved, current);
        }

        // Already where the transition leads (a repeated write-back, or a transition named like its status): nothing to move.
        if (AlreadyThere(project, setting, ticket.RawState))
        {
            return new TransitionPlan(setting, settingKey, null) { AlreadyAt = ticket.RawState };
        }

        // Resuming a write-back whose transition landed before the run broke off (perhaps in another process, which
        // learned where the transition leads): the service itself set the status the issue is in.
        if (writeBack.Resume && workflow is { StatusSetBy: { } setBy } && string.Equals(setBy, _options.IntegrationAccountId, StringComparison.Ordinal))
        {
            return new TransitionPlan(setting, settingKey, null) { AlreadyAt = ticket.RawState };
        }

        throw JiraErrors.TransitionUnavailable(ticket.Ref.Key, setting, settingKey, ticket.RawState, available.Select(t => t.Name));
    }

    /// <summary>
    /// A transition that leads where the issue already is is not taken: a workflow may offer it from its own target
    /// (a global transition), and taking it again after a write-back broke off would be the same move twice.
    /// </summary>
    private static TransitionPlan Planned(string setting, string settingKey, Transition transition, string currentStatus) =>
        transition.TargetStatus is { } target && string.Equals(target, currentStatus, StringComparison.OrdinalIgnoreCase)
            ? new TransitionPlan(setting, settingKey, null) { AlreadyAt = currentStatus }
            : new TransitionPlan(setting, settingKey, transition);

    private async Task TransitionAsync(TicketSnapshot ticket, TransitionPlan plan, Transition transition, CancellationToken cancellationToken)
    {
        var key = ticket.Ref.Key;
        var body = new JsonObject { ["transition"] = new JsonObject { ["id"] = transition.Id } }.ToJsonString();
        const string What = "POST transition";
        JiraWriteResult result;
        try
        {
            result = await _client.SendAsync(Method.Post, $"rest/api/3/issue/{key}/transitions", body, What, cancellationToken, HttpStatusCode.BadRequest);
        }
        catch (ConnectorException ex) when (ex is TransientConnectorException || ex.Status is null or >= 500)
        {
            // The answer was lost or failed after the server may have acted: look before anyone sends it again.
            if (transition.TargetStatus is { } target && await CurrentStatusAsync(key, cancellationToken) is { } now
                && string.Equals(now, target, StringComparison.OrdinalIgnoreCase))
            {
                LogTransitionAnswerLost(_logger, key, transition.Name, now);
                return;
            }

            throw;
        }

        using (result)
        {
            if (result.Succeeded)
            {
                return;
            }
        }

        // Refused: the status changed since the read (or the read's list was stale). Resolve once more against the workflow now.
        LogTransitionRetry(_logger, key, plan.Setting);
        var available = await GetTransitionsAsync(key, cancellationToken);

        // Only a transition to the same status: the note sent alongside already names that status as the target.
        if (Resolve(available, plan.Setting) is { } again
            && (transition.TargetStatus is null || again.TargetStatus is null || string.Equals(again.TargetStatus, transition.TargetStatus, StringComparison.OrdinalIgnoreCase)))
        {
            using var retried = await _client.SendAsync(Method.Post, $"rest/api/3/issue/{key}/transitions",
                new JsonObject { ["transition"] = new JsonObject { ["id"] = again.Id } }.ToJsonString(), What, cancellationToken, HttpStatusCode.BadRequest);
            if (retried.Succeeded)
            {
                return;
            }
        }

        var current = await CurrentStatusAsync(key, cancellationToken);
        if (current is not null && transition.TargetStatus is { } expected && string.Equals(current, expected, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        throw JiraErrors.TransitionUnavailable(key, plan.Setting, plan.SettingKey, current ?? ticket.RawState, available.Select(t => t.Name));
    }

    private async Task CommentAsync(string key, string text, string marker, bool isPublic, JiraNoteRecord? record, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["body"] = CommentBody(text, marker, record), ["public"] = isPublic }.ToJsonString();
        using var _ = await _client.SendAsync(Method.Post, $"rest/servicedeskapi/request/{key}/comment", body,
            isPublic ? "POST customer comment" : "POST internal note", cancellationToken);
    }

    private async Task SetFieldsAsync(string key, IReadOnlyDictionary<string, string> values, CancellationToken cancellationToken)
    {
        var fields = new JsonObject();
        foreach (var (fieldId, value) in values)
        {
            fields[fieldId] = FieldValue(value);
        }

        var body = new JsonObject { ["fields"] = fields }.ToJsonString();
        using var _ = await _client.SendAsync(Method.Put, $"rest/api/3/issue/{key}", body, "PUT escalation fields", cancellationToken);
    }

    /// <summary>
    /// A policy field value: a JSON object or array is sent as it is ({"value":"IAM"} for a select list, ["iam"] for labels),
    /// anything else as a string.
    /// </summary>
    internal static JsonNode? FieldValue(string value)
    {
        var trimmed = value.Trim();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
        {
            try
            {
                return JsonNode.Parse(trimmed);
            }
            catch (JsonException)
            {
                // Not JSON after all: a text value that starts with a bracket.
            }
        }

        return JsonValue.Create(value);
    }

    private async Task<IReadOnlyList<Transition>> GetTransitionsAsync(string key, CancellationToken cancellationToken)
    {
        using var document = await _client.GetAsync($"rest/api/3/issue/{key}/transitions", [], "GET transitions", cancellationToken)
                             ?? throw new TicketNotFoundException(new TicketRef(TicketSystemKind.Jira, key));
        return document.RootElement.TryGetProperty("transitions", out var list) && list.ValueKind == JsonValueKind.Array
            ? ParseTransitions(list).ToList()
            : [];
    }

    private async Task<string?> CurrentStatusAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var document = await _client.GetAsync($"rest/api/3/issue/{key}", [new("fields", "status")], "GET status", cancellationToken);
            return document is not null && document.RootElement.TryGetProperty("fields", out var fields) && fields.TryGetProperty("status", out var status)
                ? JiraFieldMap.Str(status, "name")
                : null;
        }
        catch (ConnectorException)
        {
            return null;
        }
    }

    /// <summary>The issue's status and the status changes in its changelog, read now.</summary>
    private async Task<IssueNow?> ReadIssueNowAsync(string key, CancellationToken cancellationToken)
    {
        using var document = await _client.GetAsync($"rest/api/3/issue/{key}", [new("fields", "status"), new("expand", "changelog")],
            "GET status and changelog", cancellationToken);
        if (document is null)
        {
            return null;
        }

        var root = document.RootElement;
        var status = Property(Property(root, "fields") ?? default, "status") is { } s ? JiraFieldMap.Str(s, "name") : null;
        var histories = await ReadChangelogAsync(key, root, cancellationToken);
        return new IssueNow(status, StatusMoves(histories));
    }

    private static List<StatusMove> StatusMoves(IReadOnlyList<JsonElement> histories)
    {
        var moves = new List<StatusMove>();
        foreach (var history in histories)
        {
            if (!history.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            var author = history.TryGetProperty("author", out var a) ? JiraFieldMap.Str(a, "accountId") : null;
            foreach (var item in items.EnumerateArray())
            {
                if (string.Equals(JiraFieldMap.Str(item, "field"), "status", StringComparison.OrdinalIgnoreCase))
                {
                    moves.Add(new StatusMove(author, JiraFieldMap.Str(item, "toString")));
                }
            }
        }

        return moves;
    }

    /// <summary>
    /// How often the read of <paramref name="ticket"/> saw the integration account move the issue to
    /// <paramref name="target"/>, so a later look can tell the write-back's own transition from an earlier one to the
    /// same status. Null when the snapshot is not this connector's read: then only the status itself can show it.
    /// </summary>
    private int? ServiceMovesSeen(TicketSnapshot ticket, string target) =>
        _workflows.TryGetValue(ticket, out var workflow) ? ServiceMovesTo(workflow.Moves, target) : null;

    private int ServiceMovesTo(IReadOnlyList<StatusMove> moves, string target) =>
        moves.Count(m => string.Equals(m.AuthorId, _options.IntegrationAccountId, StringComparison.Ordinal) && string.Equals(m.To, target, StringComparison.OrdinalIgnoreCase));

    private static Transition? Resolve(IReadOnlyList<Transition> transitions, string setting)
    {
        if (setting.All(char.IsAsciiDigit))
        {
            return transitions.FirstOrDefault(t => t.Id == setting);
        }

        return transitions.FirstOrDefault(t => string.Equals(t.Name.Trim(), setting, StringComparison.OrdinalIgnoreCase));
    }

    private void Learn(string project, string setting, Transition transition)
    {
        if (transition.TargetStatus is { } target)
        {
            _knownTargets[(project, setting)] = target;
        }
    }

    private bool AlreadyThere(string project, string setting, string currentStatus) =>
        (_knownTargets.TryGetValue((project, setting), out var target) && string.Equals(target, currentStatus, StringComparison.OrdinalIgnoreCase))
        || string.Equals(setting, currentStatus, StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<JsonElement> Values(JsonElement page) =>
        page.ValueKind == JsonValueKind.Object && page.TryGetProperty("values", out var values) && values.ValueKind == JsonValueKind.Array
            ? values.EnumerateArray()
            : [];

    private static IEnumerable<JsonElement> Issues(JsonElement page) =>
        page.ValueKind == JsonValueKind.Object && page.TryGetProperty("issues", out var issues) && issues.ValueKind == JsonValueKind.Array
            ? issues.EnumerateArray()
            : [];

    private static bool IsLastPage(JsonElement page) =>
        (page.TryGetProperty("isLastPage", out var last) && last.ValueKind == JsonValueKind.True)
        || (page.TryGetProperty("isLast", out var isLast) && isLast.ValueKind == JsonValueKind.True);

    private static JsonElement? Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
            ? value
            : null;

    private static string? StrOrNull(JsonElement element, string name) => JiraFieldMap.Str(element, name);

    /// <summary>An id that JSM sends as a string, or sometimes as a number.</summary>
    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void DisposeAll(params Task<JsonDocument?>[] tasks)
    {
        foreach (var task in tasks)
        {
            if (task.IsCompletedSuccessfully)
            {
                task.Result?.Dispose();
            }
        }
    }

    [GeneratedRegex(@"^[A-Z][A-Z0-9_]+-\d+$", RegexOptions.CultureInvariant)]
    private static partial Regex IssueKey();

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Jira {Key} read: status {Status}, {Approvals} approval records, {Changes} material changes")]
    private static partial void LogRead(ILogger logger, string key, string status, int approvals, int changes);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Jira {Key} written ({Outcome}): customer comment {Comment}, internal note {Note}, transition {Transition} to {Status}, {Fields} fields set")]
    private static partial void LogWritten(ILogger logger, string key, Outcome outcome, bool comment, bool note, string? transition, string? status, int fields);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Warning, Message = "Jira {Key}: the escalation transition is not available from status {Status}; escalated without moving the ticket")]
    private static partial void LogEscalatedUnmoved(ILogger logger, string key, string status);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Jira {Key}: transition {Transition} was refused with the list from the read; resolving it against the workflow again")]
    private static partial void LogTransitionRetry(ILogger logger, string key, string transition);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Information, Message = "Jira {Key}: resuming write-back {Marker}; already on the ticket: customer comment {Comment}, internal note {Note}, transition {Transition}")]
    private static partial void LogResumed(ILogger logger, string key, string marker, bool comment, bool note, bool transition);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Jira {Key}: the answer to transition {Transition} was lost, but the issue already shows {Status}")]
    private static partial void LogTransitionAnswerLost(ILogger logger, string key, string transition, string status);

    [LoggerMessage(EventId = 3208, Level = LogLevel.Warning, Message = "Jira is not reconciled: set Jira:ReconciliationJql (e.g. the webhook's JQL, project = KEY) so lost webhooks are found")]
    private static partial void LogNotReconciled(ILogger logger);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Information, Message = "Jira search: {Count} open issues changed since {Since} ({Pages} pages)")]
    private static partial void LogFound(ILogger logger, int count, DateTimeOffset since, int pages);

    private sealed record Transition(string Id, string Name, string? TargetStatus);

    /// <summary>What a read saw of the workflow: the transitions available then, who set the current status, and every status change.</summary>
    private sealed record Workflow(IReadOnlyList<Transition> Transitions, string? StatusSetBy, IReadOnlyList<StatusMove> Moves);

    /// <summary>The service's comments that carry a marker, and the record of its note.</summary>
    private sealed record Marked(bool Public, bool Internal, JiraNoteRecord? Record);

    /// <summary>What a resumed write-back found on the ticket before writing: its comments, its note's record, the issue now.</summary>
    private sealed record Landed(bool CustomerComment, bool Note, JiraNoteRecord? Record, IssueNow? Now)
    {
        public static Landed Nothing { get; } = new(false, false, null, null);
    }

    private sealed record IssueNow(string? Status, IReadOnlyList<StatusMove> Moves);

    /// <summary>One status change in the changelog: who made it, and the status it led to.</summary>
    private sealed record StatusMove(string? AuthorId, string? To);

    private sealed record TransitionPlan(string Setting, string SettingKey, Transition? Transition)
    {
        /// <summary>Where the transition already led: the issue is there, or this write-back's transition landed before it broke off.</summary>
        public string? AlreadyAt { get; init; }

        /// <summary>The status the write-back leaves the issue in: the transition's target, or where it already was.</summary>
        public string? TargetStatus => Transition?.TargetStatus ?? AlreadyAt;
    }
}
