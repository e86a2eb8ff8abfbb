namespace IamFulfillment.Core.Model;

/// <summary>The ticket's workflow position as the service sees it, mapped from the ITSM's own states by configuration.</summary>
public enum TicketStatus
{
    Open,
    AwaitingCustomer,
    InProgress,
    Closed,
}

/// <summary>One change to a field of the request, read from the ITSM's audit history (ServiceNow sys_audit, Jira changelog).</summary>
public sealed record FieldChange(string Field, DateTimeOffset At, string? ChangedBy, string? From, string? To);

/// <summary>
/// Authoritative state of a ticket, read from the ticket system's API (never from a webhook body). Field values
/// are already mapped to the normalised names in <see cref="RequestFields"/>; dates are ISO-8601 strings.
/// </summary>
public sealed record TicketSnapshot
{
    public required TicketRef Ref { get; init; }

    /// <summary>Human-facing number (RITM0010001, HR-12).</summary>
    public required string Number { get; init; }

    /// <summary>Link a person can open.</summary>
    public string? Url { get; init; }

    public required TicketStatus Status { get; init; }

    /// <summary>The ITSM's own state value, for notes and audit.</summary>
    public required string RawState { get; init; }

    /// <summary>Whoever opened the ticket: the requester, also when it was opened on someone's behalf.</summary>
    public ItsmPerson? OpenedBy { get; init; }

    /// <summary>People named in person-valued fields, by normalised field name (RequestedFor, VerifiedBy, …).</summary>
    public IReadOnlyDictionary<string, ItsmPerson> People { get; init; } = new Dictionary<string, ItsmPerson>();

    /// <summary>Catalog item / request type identifier, used to pick the request type where no field names it.</summary>
    public string? CatalogItem { get; init; }

    /// <summary>Text-valued request fields by normalised name.</summary>
    public IReadOnlyDictionary<string, string?> Fields { get; init; } = new Dictionary<string, string?>();

    public IReadOnlyList<ApprovalRecord> Approvals { get; init; } = [];

    /// <summary>Material changes (request fields) from the ITSM's audit history, newest last.</summary>
    public IReadOnlyList<FieldChange> MaterialChanges { get; init; } = [];

    public DateTimeOffset? CreatedAt { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>Short description / summary, for notes only (never decides anything).</summary>
    public string? Summary { get; init; }

    public DateTimeOffset? LastMaterialChange => MaterialChanges.Count == 0 ? null : MaterialChanges.Max(c => c.At);
}
