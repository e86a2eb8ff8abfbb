using System.Globalization;
using System.Text.Json.Nodes;

namespace IamFulfillment.Sandbox.Jira;

/// <summary>A request to create through <see cref="JiraSandbox.CreateRequest"/>.</summary>
public sealed class JiraRequestSeed
{
    public required string ServiceDeskId { get; init; }
    public required string RequestTypeId { get; init; }

    /// <summary>The customer the request is for.</summary>
    public required string ReporterId { get; init; }

    /// <summary>Who raised it; the reporter when null (a customer raising their own request), an agent or manager when on behalf.</summary>
    public string? CreatorId { get; init; }

    public string Summary { get; init; } = "Access request";

    /// <summary>The first status; the workflow's first status when null.</summary>
    public string? Status { get; init; }

    /// <summary>Field id → value: a string, a string array, a <see cref="DateOnly"/>, a <see cref="DateTimeOffset"/>, a <see cref="JiraUser"/> or user array, or a <see cref="JsonNode"/> in the API's input shape.</summary>
    public IReadOnlyDictionary<string, object?> Fields { get; init; } = new Dictionary<string, object?>();

    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>The seeding and query API: what tests and the demo set up and read back without HTTP.</summary>
public sealed partial class JiraSandbox
{
    private readonly Dictionary<string, JiraUser> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JiraServiceDesk> _desks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JiraRequestType> _requestTypes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JiraFieldDefinition> _fields = new(StringComparer.Ordinal);
    private readonly List<JiraStatus> _statuses = [];
    private readonly List<JiraWorkflowTransition> _transitions = [];
    private readonly Dictionary<string, JiraIssue> _issues = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _nextIssueNumber = new(StringComparer.Ordinal);
    private int _nextId = 10000;
    private int _nextUser;

    /// <summary>The status requests waiting for approval sit in; a final decision moves them on.</summary>
    public string ApprovalStatus { get; set; } = "Waiting for approval";

    public string StatusAfterApproval { get; set; } = "Waiting for support";

    public string StatusAfterDecline { get; set; } = "Declined";

    public JiraUser AddUser(string displayName, string? email = null, bool emailVisible = true, bool isAgent = false, string accountType = "atlassian", string? accountId = null, string? apiToken = null)
    {
        lock (_gate)
        {
            var id = accountId ?? $"5b10ac8d82e05b22cc7d{(++_nextUser).ToString("x4", CultureInfo.InvariantCulture)}";
            var user = new JiraUser
            {
                AccountId = id, DisplayName = displayName, Email = email, EmailVisible = emailVisible, IsAgent = isAgent,
                AccountType = accountType, ApiToken = apiToken,
            };
            _users[id] = user;
            return user;
        }
    }

    public JiraUser User(string accountId)
    {
        lock (_gate)
        {
            return _users[accountId];
        }
    }

    public JiraServiceDesk AddServiceDesk(string projectKey, string projectName)
    {
        lock (_gate)
        {
            var desk = new JiraServiceDesk
            {
                Id = (_desks.Count + 1).ToString(CultureInfo.InvariantCulture), ProjectId = NextId(), ProjectKey = projectKey, ProjectName = projectName,
            };
            _desks[desk.Id] = desk;
            return desk;
        }
    }

    public JiraRequestType AddRequestType(string serviceDeskId, string name, string? id = null, params string[] hiddenFields)
    {
        lock (_gate)
        {
            var type = new JiraRequestType
            {
                Id = id ?? (_requestTypes.Count + 10).ToString(CultureInfo.InvariantCulture), ServiceDeskId = serviceDeskId, Name = name,
                HiddenFields = new HashSet<string>(hiddenFields, StringComparer.Ordinal),
            };
            _requestTypes[type.Id] = type;
            return type;
        }
    }

    public JiraFieldDefinition AddField(string id, string name, JiraFieldKind kind)
    {
        lock (_gate)
        {
            var field = new JiraFieldDefinition { Id = id, Name = name, Kind = kind };
            _fields[id] = field;
            return field;
        }
    }

    public JiraStatus AddStatus(string name, string categoryKey)
    {
        lock (_gate)
        {
            var status = new JiraStatus { Id = NextId(), Name = name, CategoryKey = categoryKey };
            _statuses.Add(status);
            return status;
        }
    }

    /// <summary>Adds a workflow transition; no <paramref name="from"/> makes it global (available from every status).</summary>
    public JiraWorkflowTransition AddTransition(string id, string name, string to, params string[] from)
    {
        lock (_gate)
        {
            var transition = new JiraWorkflowTransition { Id = id, Name = name, To = to, From = new HashSet<string>(from, StringComparer.OrdinalIgnoreCase) };
            _transitions.Add(transition);
            return transition;
        }
    }

    /// <summary>Creates a request (issue) and returns its key.</summary>
    public string CreateRequest(JiraRequestSeed seed)
    {
        lock (_gate)
        {
            var desk = _desks[seed.ServiceDeskId];
            var type = _requestTypes[seed.RequestTypeId];
            _ = _users[seed.ReporterId];
            var creator = seed.CreatorId ?? seed.ReporterId;
            _ = _users[creator];
            var number = _nextIssueNumber[desk.ProjectKey] = _nextIssueNumber.GetValueOrDefault(desk.ProjectKey) + 1;
            var created = seed.CreatedAt ?? Now();
            var issue = new JiraIssue
            {
                Id = NextId(),
                Key = $"{desk.ProjectKey}-{number.ToString(CultureInfo.InvariantCulture)}",
                ServiceDeskId = desk.Id,
                RequestTypeId = type.Id,
                ReporterId = seed.ReporterId,
                CreatorId = creator,
                Status = StatusNamed(seed.Status ?? _statuses[0].Name).Name,
                Summary = seed.Summary,
                Created = created,
                Updated = created,
                StatusDate = created,
                LastActorId = creator,
                LastEventType = "issue_created",
            };
            foreach (var (fieldId, value) in seed.Fields)
            {
                var definition = _fields.TryGetValue(fieldId, out var d) ? d : throw new KeyNotFoundException($"Field {fieldId} is not defined (AddField first).");
                var stored = StoreValue(definition, InputNode(value), out var error);
                issue.Fields[fieldId] = error is null ? stored : throw new FormatException(error);
            }

            _issues[issue.Key] = issue;
            return issue.Key;
        }
    }

    /// <summary>Adds an approval step with its approvers (all pending); returns the approval id.</summary>
    public string AddApproval(string issueKey, string name, IEnumerable<string> approverIds, int required = 1, DateTimeOffset? createdAt = null)
    {
        lock (_gate)
        {
            var issue = Issue(issueKey);
            var approval = new JiraApproval { Id = NextId(), Name = name, Created = createdAt ?? Now(), Required = required };
            foreach (var approver in approverIds)
            {
                _ = _users[approver];
                approval.Approvers.Add(new KeyValuePair<string, string>(approver, "pending"));
            }

            issue.Approvals.Add(approval);
            return approval.Id;
        }
    }

    /// <summary>An approver approves or declines, as they would on the portal (and moves the request on when the decision is final).</summary>
    public void Decide(string issueKey, string approvalId, string approverId, bool approve, DateTimeOffset? at = null)
    {
        lock (_gate)
        {
            var error = DecideCore(Issue(issueKey), approvalId, approverId, approve, at ?? Now());
            if (error is not null)
            {
                throw new InvalidOperationException(error);
            }
        }
    }

    /// <summary>A person takes a transition (by name or id), recorded in the changelog as theirs.</summary>
    public void Transition(string issueKey, string transitionNameOrId, string actorId, DateTimeOffset? at = null)
    {
        lock (_gate)
        {
            var issue = Issue(issueKey);
            var transition = Available(issue).FirstOrDefault(t => t.Id == transitionNameOrId || string.Equals(t.Name, transitionNameOrId, StringComparison.OrdinalIgnoreCase))
                             ?? throw new InvalidOperationException($"Transition '{transitionNameOrId}' is not available from {issue.Status}.");
            ApplyTransition(issue, transition, actorId, at ?? Now());
        }
    }

    /// <summary>A person edits fields (field id → value, as for <see cref="JiraRequestSeed.Fields"/>; "reporter" takes a user), recorded in the changelog.</summary>
    public void EditFields(string issueKey, string actorId, IReadOnlyDictionary<string, object?> fields, DateTimeOffset? at = null)
    {
        lock (_gate)
        {
            var input = new JsonObject();
            foreach (var (id, value) in fields)
            {
                input[id] = InputNode(value);
            }

            var errors = EditCore(Issue(issueKey), input, actorId, at ?? Now());
            if (errors.Count > 0)
            {
                throw new InvalidOperationException(string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}")));
            }
        }
    }

    /// <summary>An agent moves the request to another request type (recorded in the changelog as the Customer Request Type field).</summary>
    public void ChangeRequestType(string issueKey, string requestTypeId, string actorId, DateTimeOffset? at = null)
    {
        lock (_gate)
        {
            var issue = Issue(issueKey);
            var from = _requestTypes[issue.RequestTypeId];
            var to = _requestTypes[requestTypeId];
            var history = new JiraHistory { Id = NextId(), AuthorId = actorId, Created = at ?? Now() };
            history.Items.Add(new JiraChangeItem("Customer Request Type", "custom", Options.RequestTypeFieldId, null, from.Name, null, to.Name));
            issue.Histories.Add(history);
            issue.RequestTypeId = to.Id;
            Touch(issue, actorId, history.Created, "issue_updated");
        }
    }

    public void AddComment(string issueKey, string authorId, string body, bool isPublic = true, DateTimeOffset? at = null)
    {
        lock (_gate)
        {
            AddCommentCore(Issue(issueKey), authorId, body, isPublic, at ?? Now());
        }
    }

    /// <summary>The request's comments, oldest first (a copy).</summary>
    public IReadOnlyList<JiraComment> Comments(string issueKey)
    {
        lock (_gate)
        {
            return [.. Issue(issueKey).Comments];
        }
    }

    public string StatusOf(string issueKey)
    {
        lock (_gate)
        {
            return Issue(issueKey).Status;
        }
    }

    /// <summary>A stored field value (the simple stored form: text, array of texts, account id).</summary>
    public JsonNode? FieldValue(string issueKey, string fieldId)
    {
        lock (_gate)
        {
            return Issue(issueKey).Fields.TryGetValue(fieldId, out var value) ? value?.DeepClone() : null;
        }
    }

    /// <summary>The changelog, oldest first (a copy).</summary>
    public IReadOnlyList<JiraHistory> Changelog(string issueKey)
    {
        lock (_gate)
        {
            return [.. Issue(issueKey).Histories];
        }
    }

    private void SeedSystemFields()
    {
        AddField("summary", "Summary", JiraFieldKind.Text);
        AddField("description", "Description", JiraFieldKind.Paragraph);
        AddField("duedate", "Due date", JiraFieldKind.Date);
        AddField("labels", "Labels", JiraFieldKind.Labels);
    }

    private void SeedDefaultWorkflow()
    {
        AddStatus("Waiting for support", "new");
        AddStatus("Waiting for customer", "indeterminate");
        AddStatus("In progress", "indeterminate");
        AddStatus("Waiting for approval", "new");
        AddStatus("Escalated", "indeterminate");
        AddStatus("Resolved", "done");
        AddStatus("Declined", "done");
        AddStatus("Canceled", "done");
        AddTransition("11", "Waiting for customer", "Waiting for customer", "Waiting for support", "In progress", "Escalated");
        AddTransition("21", "Resolve", "Resolved", "Waiting for support", "Waiting for customer", "In progress", "Escalated");
        AddTransition("31", "Decline", "Declined", "Waiting for support", "Waiting for customer", "In progress", "Escalated", "Waiting for approval");
        AddTransition("41", "Escalate", "Escalated", "Waiting for support", "Waiting for customer", "In progress");
        AddTransition("51", "Respond to support", "Waiting for support", "Waiting for customer");
        AddTransition("61", "Start progress", "In progress", "Waiting for support", "Escalated");
        AddTransition("71", "Reopen", "Waiting for support", "Resolved", "Declined", "Canceled");
        AddTransition("81", "Cancel request", "Canceled", "Waiting for support", "Waiting for customer", "Waiting for approval");
    }

    private string NextId() => (++_nextId).ToString(CultureInfo.InvariantCulture);

    private DateTimeOffset Now() => Time.GetUtcNow();

    private JiraIssue Issue(string keyOrId) =>
        _issues.TryGetValue(keyOrId, out var issue) ? issue
        : _issues.Values.FirstOrDefault(i => i.Id == keyOrId) ?? throw new KeyNotFoundException($"Issue {keyOrId} does not exist.");

    private JiraIssue? FindIssue(string keyOrId) =>
        _issues.TryGetValue(keyOrId, out var issue) ? issue : _issues.Values.FirstOrDefault(i => i.Id == keyOrId);

    private JiraStatus StatusNamed(string name) =>
        _statuses.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase)) ?? throw new KeyNotFoundException($"Status {name} does not exist.");

    private IEnumerable<JiraWorkflowTransition> Available(JiraIssue issue) => _transitions.Where(t => t.IsAvailableFrom(issue.Status));

    /// <summary>Turns a seeding value into the API's input shape.</summary>
    private static JsonNode? InputNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        string text => JsonValue.Create(text),
        DateOnly date => JsonValue.Create(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        DateTimeOffset at => JsonValue.Create(at.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture)),
        JiraUser user => new JsonObject { ["accountId"] = user.AccountId },
        IEnumerable<JiraUser> users => new JsonArray(users.Select(u => (JsonNode)new JsonObject { ["accountId"] = u.AccountId }).ToArray()),
        IEnumerable<string> texts => new JsonArray(texts.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        int number => JsonValue.Create(number),
        double number => JsonValue.Create(number),
        _ => throw new FormatException($"A field value of type {value.GetType().Name} is not supported."),
    };
}
