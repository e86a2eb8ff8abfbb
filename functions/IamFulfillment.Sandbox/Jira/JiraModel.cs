using System.Text.Json.Nodes;

namespace IamFulfillment.Sandbox.Jira;

/// <summary>An Atlassian account as the sandbox knows it.</summary>
public sealed class JiraUser
{
    public required string AccountId { get; init; }
    public required string DisplayName { get; set; }
    public string? Email { get; set; }

    /// <summary>False hides the address from every API answer, as the profile's privacy setting does.</summary>
    public bool EmailVisible { get; set; } = true;

    /// <summary><c>atlassian</c> for licensed users, <c>customer</c> for portal-only customers, <c>app</c> for automation.</summary>
    public string AccountType { get; set; } = "atlassian";

    /// <summary>Service desk agents see every request and internal comments; customers see their own requests and public comments.</summary>
    public bool IsAgent { get; set; }

    public bool Active { get; set; } = true;
    public string TimeZone { get; set; } = "Etc/UTC";

    /// <summary>The API token the account authenticates with (Basic e-mail:token); null means it cannot call the API.</summary>
    public string? ApiToken { get; set; }
}

public sealed class JiraServiceDesk
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string ProjectKey { get; init; }
    public required string ProjectName { get; init; }
}

public sealed class JiraRequestType
{
    public required string Id { get; init; }
    public required string ServiceDeskId { get; init; }
    public required string Name { get; init; }
    public string IssueTypeId { get; init; } = "10004";

    /// <summary>Fields that are on the issue but hidden on the portal: the JSM request API leaves them out.</summary>
    public HashSet<string> HiddenFields { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>How a field's value is shaped in the APIs.</summary>
public enum JiraFieldKind
{
    Text,

    /// <summary>Rich text: ADF in REST v3, wiki markup in the JSM API and webhooks (REST v2 shape).</summary>
    Paragraph,
    Select,
    MultiSelect,
    User,
    MultiUser,
    Date,
    DateTime,
    Labels,
    Number,
}

public sealed class JiraFieldDefinition
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required JiraFieldKind Kind { get; init; }

    public bool IsCustom => Id.StartsWith("customfield_", StringComparison.Ordinal);
}

public sealed class JiraStatus
{
    public required string Id { get; init; }
    public required string Name { get; init; }

    /// <summary><c>new</c>, <c>indeterminate</c> or <c>done</c>.</summary>
    public required string CategoryKey { get; init; }
}

public sealed class JiraWorkflowTransition
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string To { get; init; }

    /// <summary>Statuses the transition is available from; empty means from every status (a global transition).</summary>
    public HashSet<string> From { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public bool IsAvailableFrom(string status) => From.Count == 0 || From.Contains(status);
}

public sealed class JiraIssue
{
    public required string Id { get; init; }
    public required string Key { get; init; }
    public required string ServiceDeskId { get; init; }
    public required string RequestTypeId { get; set; }
    public required string ReporterId { get; set; }
    public required string CreatorId { get; init; }
    public required string Status { get; set; }
    public required string Summary { get; set; }
    public required DateTimeOffset Created { get; init; }
    public DateTimeOffset Updated { get; set; }
    public DateTimeOffset StatusDate { get; set; }

    /// <summary>Field values in a simple stored form (strings, arrays of strings, account ids for user fields); rendered per API.</summary>
    public Dictionary<string, JsonNode?> Fields { get; } = new(StringComparer.Ordinal);

    public List<JiraApproval> Approvals { get; } = [];
    public List<JiraComment> Comments { get; } = [];
    public List<JiraHistory> Histories { get; } = [];

    /// <summary>Who last changed the issue and how (the webhook's <c>user</c> and <c>issue_event_type_name</c>).</summary>
    public string LastActorId { get; set; } = "";
    public string LastEventType { get; set; } = "issue_created";
}

public sealed class JiraApproval
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required DateTimeOffset Created { get; init; }

    /// <summary>How many approvals complete it; any decline declines it.</summary>
    public int Required { get; init; } = 1;

    /// <summary>Approver account id → approved / declined / pending, in the order they were named.</summary>
    public List<KeyValuePair<string, string>> Approvers { get; } = [];

    public DateTimeOffset? Completed { get; set; }

    public string FinalDecision =>
        Approvers.Any(a => a.Value == "declined") ? "declined"
        : Approvers.Count(a => a.Value == "approved") >= Math.Max(1, Required) ? "approved"
        : "pending";
}

public sealed class JiraComment
{
    public required string Id { get; init; }
    public required string AuthorId { get; init; }
    public required string Body { get; init; }
    public required bool Public { get; init; }
    public required DateTimeOffset Created { get; init; }
}

public sealed class JiraHistory
{
    public required string Id { get; init; }
    public required string AuthorId { get; init; }
    public required DateTimeOffset Created { get; init; }
    public List<JiraChangeItem> Items { get; } = [];
}

/// <summary>One changelog item, as <c>{field, fieldtype, fieldId, from, fromString, to, toString}</c>.</summary>
public sealed record JiraChangeItem(string Field, string FieldType, string FieldId, string? From, string? FromString, string? To, string? ToText);
