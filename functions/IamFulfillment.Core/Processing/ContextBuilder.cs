using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Requests;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// Gathers what a decision needs from the directory, with independent reads in parallel: first every person on the
/// ticket (one lookup each, manager included), then the memberships and group facts the rules need.
/// </summary>
public sealed class ContextBuilder(IDirectory directory, GroupDirectoryCache groups, IPersonLedger persons, ProcessingOptions options)
{
    /// <summary>The directory reads of one run; pass its <see cref="DirectoryLookups.Prefetch"/> to the ticket read.</summary>
    public DirectoryLookups Lookups(TicketSystemKind system, CancellationToken cancellationToken) =>
        new(directory, options.PersonKeys.GetValueOrDefault(system) ?? [PersonKey.Email], cancellationToken);

    /// <param name="alongsideMemberships">
    /// Work on the target's directory id that should not wait for the context (the per-person lock): started as soon
    /// as the target is known and awaited with the membership reads.
    /// </param>
    public async Task<DecisionContext> BuildAsync(TicketSnapshot ticket, AccessRequest request, PolicyDocument policy,
        DateTimeOffset now, TimeSpan? waitingForAccount, DirectoryLookups lookups, CancellationToken cancellationToken,
        Func<string, Task>? alongsideMemberships = null)
    {
        var keys = lookups.Keys;
        var resolver = new PersonResolver(lookups, ticket.Ref.System);

        // Wave 1: every person, in parallel.
        var approvalPeople = ticket.Approvals
            .Where(a => a.State == ApprovalState.Approved)
            .SelectMany(a => a.ActedBy is null ? [a.Approver] : new[] { a.Approver, a.ActedBy })
            .ToList();
        var others = approvalPeople.Append(request.VerifiedBy).OfType<ItsmPerson>().DistinctBy(p => p.ItsmId).ToList();
        var byEmployeeNumber = request.Type == RequestType.Leaver && request.EmployeeNumber is { } number
            ? resolver.ByEmployeeNumberAsync(number, request.RequestedFor, cancellationToken)
            : null;
        var targetTask = ResolveOrNull(resolver, request.RequestedFor, cancellationToken);
        var requesterTask = ResolveOrNull(resolver, request.Requester, cancellationToken);
        var otherTasks = others.Select(p => resolver.ResolveAsync(p, cancellationToken)).ToList();
        await Task.WhenAll(otherTasks.Cast<Task>().Append(targetTask).Append(requesterTask).Append(byEmployeeNumber ?? Task.CompletedTask));

        var target = await targetTask;
        var requester = await requesterTask;
        string? conflict = null;
        if (byEmployeeNumber is not null)
        {
            // Leavers are matched by employee number where the ticket carries one.
            var byNumber = await byEmployeeNumber;
            if (byNumber.User is not null && target?.User is not null && byNumber.User.Id != target.User.Id)
            {
                conflict = $"The employee number {request.EmployeeNumber} belongs to {byNumber.User.Describe()}, but the ticket names {target.User.Describe()}.";
            }
            else if (byNumber.User is null && target?.User is not null)
            {
                conflict = $"The employee number {request.EmployeeNumber} matches no directory account, but the ticket names {target.User.Describe()}: which person leaves must be checked.";
            }

            target = byNumber.User is not null || target is null ? byNumber : target;
        }

        var people = new Dictionary<string, PersonMatch>(StringComparer.Ordinal);
        foreach (var match in await Task.WhenAll(otherTasks))
        {
            people[match.Person.ItsmId] = match;
        }

        // Wave 2: memberships and group facts the rules need, in parallel.
        var targetUser = target?.User;
        var needMembers = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (targetUser is not null)
        {
            needMembers.Add(targetUser.Id);
        }

        if (requester?.User is { } requesterUser && request.Type is RequestType.Leaver or RequestType.Joiner or RequestType.Mover)
        {
            needMembers.Add(requesterUser.Id);
        }

        if (request.Type == RequestType.MfaReset && request.VerifiedBy is { } verifiedBy && people.GetValueOrDefault(verifiedBy.ItsmId)?.User is { } verifier)
        {
            needMembers.Add(verifier.Id);
        }

        if (policy.Approvals.SecurityApproverGroupId is not null)
        {
            // Approvers who are not the target's manager may be acting in the security stage.
            foreach (var match in people.Values.Where(m => m.User is not null && m.User.Id != targetUser?.Manager?.Id))
            {
                needMembers.Add(match.User!.Id);
            }
        }

        var membershipTasks = needMembers.ToDictionary(id => id, id => lookups.MembershipsAsync(id, MembershipScope.Transitive));
        var directTask = targetUser is not null && request.Type is RequestType.Leaver or RequestType.Mover
            ? lookups.MembershipsAsync(targetUser.Id, MembershipScope.Direct)
            : Task.FromResult<IReadOnlyList<Membership>>([]);
        var groupIds = request.EntitlementIds.Select(policy.FindEntitlement).OfType<CatalogEntry>().Select(e => e.GroupId);
        if (targetUser is not null && request.Type == RequestType.Joiner)
        {
            groupIds = groupIds.Concat(policy.Roles.Where(r => r.Matches(targetUser)).SelectMany(r => r.Entitlements)
                .Select(policy.FindEntitlement).OfType<CatalogEntry>().Select(e => e.GroupId));
        }
        else if (targetUser is not null && request.Type == RequestType.Mover)
        {
            // Old and new birthright sets: every role's groups, since the old role no longer matches the directory.
            groupIds = groupIds.Concat(policy.Roles.SelectMany(r => r.Entitlements)
                .Select(policy.FindEntitlement).OfType<CatalogEntry>().Select(e => e.GroupId));
        }

        var groupsTask = groups.GetAsync(groupIds, cancellationToken);
        var grantedTask = targetUser is not null && request.Type == RequestType.Mover
            ? persons.GrantedAsync(targetUser.Id, cancellationToken)
            : Task.FromResult<IReadOnlyList<string>>([]);
        var alongside = targetUser is not null && alongsideMemberships is not null ? alongsideMemberships(targetUser.Id) : Task.CompletedTask;
        await Task.WhenAll(membershipTasks.Values.Cast<Task>().Append(directTask).Append(groupsTask).Append(grantedTask).Append(alongside));

        var memberships = membershipTasks.ToDictionary(p => p.Key, p => p.Value.Result, StringComparer.OrdinalIgnoreCase);
        return new DecisionContext
        {
            Ticket = ticket,
            Request = request,
            Policy = policy,
            Now = now,
            MatchedOn = keys[0],
            Target = target,
            Requester = requester,
            People = people,
            Memberships = memberships,
            TargetDirectMemberships = await directTask,
            Groups = await groupsTask,
            PreviouslyGrantedGroupIds = await grantedTask,
            TargetAccountMissing = request.Type == RequestType.Joiner && target is { User: null, Problem: not null } && target.Problem.StartsWith(PersonResolver.NoMatchPrefix, StringComparison.Ordinal),
            WaitingForAccountSince = waitingForAccount,
            TargetConflict = conflict,
        };
    }

    private static async Task<PersonMatch?> ResolveOrNull(PersonResolver resolver, ItsmPerson? person, CancellationToken cancellationToken) =>
        person is null ? null : await resolver.ResolveAsync(person, cancellationToken);
}

/// <summary>Matches a ticket person to exactly one directory user on the configured keys; zero or several matches is a problem, never a guess.</summary>
internal sealed class PersonResolver(DirectoryLookups lookups, TicketSystemKind system)
{
    public const string NoMatchPrefix = "No directory account";

    public async Task<PersonMatch> ResolveAsync(ItsmPerson person, CancellationToken cancellationToken)
    {
        var keys = lookups.Keys;
        foreach (var key in keys)
        {
            var value = ValueFor(person, key);
            if (string.IsNullOrWhiteSpace(value))
            {
                continue;
            }

            var users = await lookups.FindAsync(key, value);
            return users.Count switch
            {
                1 => new PersonMatch(person, users[0], null, key),
                0 => new PersonMatch(person, null, $"{NoMatchPrefix} has the {Describe(key)} of {Name(person)} ({value}); ask the service desk to correct the person's record."),
                _ => new PersonMatch(person, null, $"{users.Count} directory accounts share the {Describe(key)} of {Name(person)} ({value}); the service does not guess which one is meant."),
            };
        }

        return new PersonMatch(person, null, $"{Name(person)} has no {string.Join(" or ", keys.Select(Describe))} in {system}, so they cannot be matched to a directory account.");
    }

    public async Task<PersonMatch> ByEmployeeNumberAsync(string number, ItsmPerson? named, CancellationToken cancellationToken)
    {
        var person = named ?? new ItsmPerson($"employee:{number}", EmployeeNumber: number);
        var users = await lookups.FindAsync(PersonKey.EmployeeId, number);
        return users.Count switch
        {
            1 => new PersonMatch(person, users[0], null, PersonKey.EmployeeId),
            0 => new PersonMatch(person, null, $"{NoMatchPrefix} has the employee number {number}."),
            _ => new PersonMatch(person, null, $"{users.Count} directory accounts share the employee number {number}; the service does not guess which one is meant."),
        };
    }

    private static string? ValueFor(ItsmPerson person, PersonKey key) => key switch
    {
        PersonKey.Email => person.Email,
        PersonKey.EmployeeId => person.EmployeeNumber,
        PersonKey.AtlassianAccountId => person.ItsmId,
        _ => null,
    };

    private static string Name(ItsmPerson person) => person.DisplayName ?? person.UserName ?? person.ItsmId;

    private static string Describe(PersonKey key) => CommonChecksText.Describe(key);
}
