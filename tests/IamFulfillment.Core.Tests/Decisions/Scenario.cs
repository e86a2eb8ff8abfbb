using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Requests;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>
/// Builds a <see cref="DecisionContext"/> the way production's ContextBuilder would, from the default org: a
/// ticket opened by Rita for Alice with a good justification, every person resolving to exactly one account.
/// Methods change one thing each and return the scenario, so a case reads as one line of differences.
/// </summary>
internal sealed class Scenario
{
    private readonly Dictionary<string, DirectoryUser> _users = Org.Everyone.ToDictionary(p => p.Itsm.ItsmId, p => p.User, StringComparer.Ordinal);
    private readonly Dictionary<string, string> _unresolved = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Membership>> _memberships = Org.BaseMemberships.ToDictionary(p => p.Key, p => p.Value.ToList(), StringComparer.OrdinalIgnoreCase);
    private readonly List<Membership> _direct = [];
    private readonly Dictionary<string, DirectoryGroup?> _groups = new(Org.Groups, StringComparer.OrdinalIgnoreCase);
    private readonly List<ApprovalRecord> _approvals = [];
    private readonly List<FieldChange> _changes = [];
    private readonly List<string> _parseProblems = [];
    private readonly List<string> _previouslyGranted = [];
    private int _approvalIds;
    private bool _verifierLookedUp = true;

    public PolicyDocument Policy { get; private set; } = Org.Policy;
    public RequestType? Type { get; private set; }
    public string? RawType { get; private set; }
    public Person? Target { get; private set; } = Org.Alice;
    public Person? Requester { get; private set; } = Org.Rita;
    public List<string> Entitlements { get; } = [];
    public string? Justification { get; private set; } = Org.GoodJustification;
    public DateTimeOffset? Start { get; private set; }
    public DateTimeOffset? End { get; private set; }
    public DateTimeOffset? Effective { get; private set; }
    public DateTimeOffset? Termination { get; private set; }
    public string? EmployeeNumber { get; private set; }
    public string? VerificationMethod { get; private set; }
    public Person? Verifier { get; private set; }
    public DateTimeOffset? VerifiedAt { get; private set; }
    public string? Reason { get; private set; }
    public string? TargetConflict { get; private set; }
    public bool AccountMissing { get; private set; }
    public TimeSpan? WaitingForAccount { get; private set; }

    // Request types, with the fields each needs already filled in so a case only states what differs.
    public Scenario Grant(params string[] ids) => Typed(RequestType.AccessGrant, ids);

    public Scenario Remove(params string[] ids) => Typed(RequestType.AccessRemoval, ids);

    public Scenario Joiner()
    {
        Typed(RequestType.Joiner);
        Justification = null;
        Requester = Org.Hana;
        Start = Org.Now.AddDays(3);
        return this;
    }

    public Scenario Mover()
    {
        Typed(RequestType.Mover);
        Justification = null;
        Requester = Org.Hana;
        Effective = Org.Now.AddHours(-2);
        return this;
    }

    public Scenario Leaver()
    {
        Typed(RequestType.Leaver);
        Justification = null;
        Requester = Org.Hana;
        Termination = Org.Now.AddHours(-1);
        return this;
    }

    public Scenario MfaReset()
    {
        Typed(RequestType.MfaReset);
        Justification = null;
        Requester = Org.Desmond;
        VerificationMethod = "video-call-with-photo-id";
        Verifier = Org.Desmond;
        VerifiedAt = Org.Now.AddMinutes(-30);
        Reason = "Lost her phone on a business trip.";
        return this;
    }

    public Scenario UnparsedType(string? raw, string? problem = null)
    {
        Type = null;
        RawType = raw;
        if (problem is not null)
        {
            _parseProblems.Add(problem);
        }

        return this;
    }

    // People.
    public Scenario For(Person? target)
    {
        Target = target;
        return this;
    }

    public Scenario OpenedBy(Person? requester)
    {
        Requester = requester;
        return this;
    }

    /// <summary>Changes a person's directory record (the directory is authoritative; the ticket never is).</summary>
    public Scenario InDirectory(Person person, Func<DirectoryUser, DirectoryUser> change)
    {
        _users[person.Itsm.ItsmId] = change(_users[person.Itsm.ItsmId]);
        return this;
    }

    public Scenario Unresolved(Person person, string problem)
    {
        _unresolved[person.Itsm.ItsmId] = problem;
        return this;
    }

    /// <summary>Puts <paramref name="person"/> in groups (by catalog id or group id): direct members, hence also transitive.</summary>
    public Scenario Holds(Person person, params string[] idsOrGroups)
    {
        foreach (var membership in idsOrGroups.Select(MembershipFor))
        {
            Transitive(person).Add(membership);
            if (person.Id == Target?.Id)
            {
                _direct.Add(membership);
            }
        }

        return this;
    }

    /// <summary>A membership the person has only through nesting (transitive, not direct).</summary>
    public Scenario HoldsNested(Person person, params string[] idsOrGroups)
    {
        Transitive(person).AddRange(idsOrGroups.Select(MembershipFor));
        return this;
    }

    public Scenario HoldsMembership(Person person, Membership membership)
    {
        Transitive(person).Add(membership);
        if (person.Id == Target?.Id)
        {
            _direct.Add(membership);
        }

        return this;
    }

    public Scenario PreviouslyGranted(params string[] entitlementIds)
    {
        _previouslyGranted.AddRange(entitlementIds.Select(Ent.Group));
        return this;
    }

    public Scenario Group(string entitlementId, Func<DirectoryGroup, DirectoryGroup> change)
    {
        var id = Ent.Group(entitlementId);
        _groups[id] = change(_groups[id]!);
        return this;
    }

    public Scenario GroupMissing(string entitlementId)
    {
        _groups[Ent.Group(entitlementId)] = null;
        return this;
    }

    public Scenario GroupNotRead(string entitlementId)
    {
        _groups.Remove(Ent.Group(entitlementId));
        return this;
    }

    // Request fields.
    public Scenario Justify(string? text)
    {
        Justification = text;
        return this;
    }

    public Scenario From(DateTimeOffset? start)
    {
        Start = start;
        return this;
    }

    public Scenario Until(DateTimeOffset? end)
    {
        End = end;
        return this;
    }

    public Scenario EffectiveAt(DateTimeOffset? at)
    {
        Effective = at;
        return this;
    }

    public Scenario TerminatedAt(DateTimeOffset? at)
    {
        Termination = at;
        return this;
    }

    public Scenario WithEmployeeNumber(string? number)
    {
        EmployeeNumber = number;
        return this;
    }

    public Scenario Verified(string? method, Person? by, DateTimeOffset? at)
    {
        VerificationMethod = method;
        Verifier = by;
        VerifiedAt = at;
        return this;
    }

    /// <summary>The context carries no lookup of the verifier at all (a caller that forgot it).</summary>
    public Scenario VerifierNotLookedUp()
    {
        _verifierLookedUp = false;
        return this;
    }

    public Scenario Because(string? reason)
    {
        Reason = reason;
        return this;
    }

    public Scenario ParseProblem(string problem)
    {
        _parseProblems.Add(problem);
        return this;
    }

    public Scenario EmployeeNumberConflict(string conflict)
    {
        TargetConflict = conflict;
        return this;
    }

    public Scenario AccountNotCreatedYet(TimeSpan waitingFor)
    {
        AccountMissing = true;
        WaitingForAccount = waitingFor;
        return Unresolved(Target!, $"No directory account has the email address of {Target!.Name} ({Target.Itsm.Email}); ask the service desk to correct the person's record.");
    }

    // Approvals, as the ticket system records them.
    public Scenario Approved(Person approver, DateTimeOffset? at = null, ApprovalScope scope = ApprovalScope.Item, Person? actedBy = null) =>
        Approval(approver, ApprovalState.Approved, at ?? Org.Now.AddHours(-2), scope, actedBy, null);

    /// <summary>An approval whose decision time the ticket system did not give.</summary>
    public Scenario ApprovedUndated(Person approver) => Approval(approver, ApprovalState.Approved, null, ApprovalScope.Item, null, null);

    public Scenario Rejected(Person approver, string? comment, DateTimeOffset? at = null, ApprovalScope scope = ApprovalScope.Item) =>
        Approval(approver, ApprovalState.Rejected, at ?? Org.Now.AddHours(-2), scope, null, comment);

    public Scenario Pending(Person approver) => Approval(approver, ApprovalState.Requested, null, ApprovalScope.Item, null, null);

    /// <summary>A material field of the request (entitlement, target, dates) changed at <paramref name="at"/>.</summary>
    public Scenario Changed(string field, DateTimeOffset at, Person? by = null)
    {
        _changes.Add(new FieldChange(field, at, (by ?? Org.Rita).Itsm.ItsmId, "old", "new"));
        return this;
    }

    public Scenario WithPolicy(Func<PolicyDocument, PolicyDocument> change)
    {
        Policy = change(Policy);
        return this;
    }

    public DecisionContext Build()
    {
        var people = new Dictionary<string, ItsmPerson>(StringComparer.Ordinal);
        if (Target is not null)
        {
            people[RequestFields.RequestedFor] = Target.Itsm;
        }

        if (Verifier is not null)
        {
            people[RequestFields.VerifiedBy] = Verifier.Itsm;
        }

        var ticket = new TicketSnapshot
        {
            Ref = new TicketRef(TicketSystemKind.ServiceNow, "9d385017c611228701d22104cc95c371"),
            Number = "RITM0010001",
            Status = TicketStatus.Open,
            RawState = "1",
            OpenedBy = Requester?.Itsm,
            People = people,
            Approvals = _approvals,
            MaterialChanges = _changes.OrderBy(c => c.At).ToList(),
            CreatedAt = Org.Now.AddDays(-1),
            UpdatedAt = Org.Now.AddMinutes(-1),
            Summary = "Access request",
        };

        var request = new AccessRequest
        {
            Ticket = ticket.Ref,
            Number = ticket.Number,
            Type = Type,
            RawType = RawType ?? Type?.ToString(),
            RequestedFor = Target?.Itsm,
            Requester = Requester?.Itsm,
            EntitlementIds = Entitlements,
            Justification = Justification,
            StartDate = Start,
            EndDate = End,
            EffectiveDate = Effective,
            TerminationAt = Termination,
            EmployeeNumber = EmployeeNumber,
            VerificationMethod = VerificationMethod,
            VerifiedBy = Verifier?.Itsm,
            VerifiedAt = VerifiedAt,
            Reason = Reason,
            ParseProblems = _parseProblems,
        };

        var others = _approvals.SelectMany(a => a.ActedBy is null ? [a.Approver] : new[] { a.Approver, a.ActedBy })
            .Append(_verifierLookedUp ? Verifier?.Itsm : null)
            .OfType<ItsmPerson>()
            .DistinctBy(p => p.ItsmId)
            .ToDictionary(p => p.ItsmId, Match, StringComparer.Ordinal);

        return new DecisionContext
        {
            Ticket = ticket,
            Request = request,
            Policy = Policy,
            Now = Org.Now,
            Target = Target is null ? null : Match(Target.Itsm),
            Requester = Requester is null ? null : Match(Requester.Itsm),
            People = others,
            Memberships = _memberships.ToDictionary(p => p.Key, p => (IReadOnlyList<Membership>)p.Value, StringComparer.OrdinalIgnoreCase),
            TargetDirectMemberships = _direct,
            Groups = _groups,
            PreviouslyGrantedGroupIds = _previouslyGranted,
            TargetConflict = TargetConflict,
            TargetAccountMissing = AccountMissing,
            WaitingForAccountSince = WaitingForAccount,
        };
    }

    private PersonMatch Match(ItsmPerson person) =>
        _unresolved.TryGetValue(person.ItsmId, out var problem) ? new PersonMatch(person, null, problem)
        : _users.TryGetValue(person.ItsmId, out var user) ? new PersonMatch(person, user, null)
        : new PersonMatch(person, null, $"No directory account has the email address of {person.Describe()}.");

    private Scenario Typed(RequestType type, params string[] ids)
    {
        Type = type;
        Entitlements.Clear();
        Entitlements.AddRange(ids);
        return this;
    }

    private Scenario Approval(Person approver, ApprovalState state, DateTimeOffset? at, ApprovalScope scope, Person? actedBy, string? comment)
    {
        _approvals.Add(new ApprovalRecord($"appr-{++_approvalIds}", approver.Itsm, state, at, scope, actedBy?.Itsm, comment, CreatedAt: Org.Now.AddDays(-1)));
        return this;
    }

    private List<Membership> Transitive(Person person)
    {
        if (!_memberships.TryGetValue(person.Id, out var list))
        {
            list = [];
            _memberships[person.Id] = list;
        }

        return list;
    }

    private Membership MembershipFor(string idOrGroup)
    {
        if (Policy.FindEntitlement(idOrGroup) is { } entry)
        {
            var facts = _groups.GetValueOrDefault(entry.GroupId);
            return new Membership(entry.GroupId, entry.DisplayName, MembershipKind.Group, facts?.IsRoleAssignable ?? false, facts?.IsDynamic ?? false, facts?.OnPremisesSynced ?? false);
        }

        return new Membership(idOrGroup, idOrGroup);
    }
}
