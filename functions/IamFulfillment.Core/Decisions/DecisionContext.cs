using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Requests;

namespace IamFulfillment.Core.Decisions;

/// <summary>A ticket person matched (or not) to exactly one directory user.</summary>
public sealed record PersonMatch(ItsmPerson Person, DirectoryUser? User, string? Problem, PersonKey? MatchedOn = null)
{
    public bool Resolved => User is not null;
}

/// <summary>
/// Everything the decision needs, gathered from the ticket system and the directory before deciding, so the
/// decision itself is a pure function (and table-testable).
/// </summary>
public sealed record DecisionContext
{
    public required TicketSnapshot Ticket { get; init; }
    public required AccessRequest Request { get; init; }
    public required PolicyDocument Policy { get; init; }
    public required DateTimeOffset Now { get; init; }

    /// <summary>Which key people were matched on (for messages).</summary>
    public PersonKey MatchedOn { get; init; } = PersonKey.Email;

    public PersonMatch? Target { get; init; }
    public PersonMatch? Requester { get; init; }

    /// <summary>Other people on the ticket (approvers, acting delegates, verifier) by ITSM id.</summary>
    public IReadOnlyDictionary<string, PersonMatch> People { get; init; } = new Dictionary<string, PersonMatch>();

    /// <summary>Transitive memberships by directory user id (the target's always; others where a rule needs them).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Membership>> Memberships { get; init; } = new Dictionary<string, IReadOnlyList<Membership>>();

    /// <summary>The target's direct memberships (leaver and mover remove only these).</summary>
    public IReadOnlyList<Membership> TargetDirectMemberships { get; init; } = [];

    /// <summary>Set when the ticket's person and its employee number point at different directory users.</summary>
    public string? TargetConflict { get; init; }

    /// <summary>Directory facts of the catalog groups the request touches; null value = group not found.</summary>
    public IReadOnlyDictionary<string, DirectoryGroup?> Groups { get; init; } = new Dictionary<string, DirectoryGroup?>();

    /// <summary>Groups this service granted to the target before (mover: the old birthright set).</summary>
    public IReadOnlyList<string> PreviouslyGrantedGroupIds { get; init; } = [];

    /// <summary>Whether the target's account was found at all when the ticket needs it to exist (joiner wait).</summary>
    public bool TargetAccountMissing { get; init; }

    /// <summary>How long the service has been waiting for the target's account (joiner).</summary>
    public TimeSpan? WaitingForAccountSince { get; init; }

    public IReadOnlyList<Membership> MembershipsOf(DirectoryUser? user) =>
        user is not null && Memberships.TryGetValue(user.Id, out var list) ? list : [];

    public PersonMatch? Match(ItsmPerson? person) =>
        person is null ? null
        : Target is { } t && t.Person.ItsmId == person.ItsmId ? t
        : Requester is { } r && r.Person.ItsmId == person.ItsmId ? r
        : People.GetValueOrDefault(person.ItsmId);
}
