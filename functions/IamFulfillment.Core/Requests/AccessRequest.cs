using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Requests;

/// <summary>
/// A ticket turned into a request, not yet validated: every field as the ticket gave it (parsed where it could
/// be) and the problems parsing found. Only <see cref="ValidatedAccessRequest"/> can reach fulfilment.
/// </summary>
public sealed record AccessRequest
{
    public required TicketRef Ticket { get; init; }
    public required string Number { get; init; }
    public RequestType? Type { get; init; }
    public string? RawType { get; init; }
    public ItsmPerson? RequestedFor { get; init; }
    public ItsmPerson? Requester { get; init; }
    public IReadOnlyList<string> EntitlementIds { get; init; } = [];
    public string? Justification { get; init; }
    public DateTimeOffset? StartDate { get; init; }
    public DateTimeOffset? EndDate { get; init; }
    public DateTimeOffset? EffectiveDate { get; init; }

    /// <summary>Termination moment, already placed in its time zone.</summary>
    public DateTimeOffset? TerminationAt { get; init; }

    public string? TimeZone { get; init; }
    public string? EmployeeNumber { get; init; }
    public string? VerificationMethod { get; init; }
    public ItsmPerson? VerifiedBy { get; init; }
    public DateTimeOffset? VerifiedAt { get; init; }
    public string? Reason { get; init; }

    /// <summary>Problems found while reading the fields (a date that is not a date, …), in plain words.</summary>
    public IReadOnlyList<string> ParseProblems { get; init; } = [];
}
