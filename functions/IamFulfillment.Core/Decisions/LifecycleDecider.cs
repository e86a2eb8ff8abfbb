using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>Joiner, mover and leaver: birthright access from the directory's attributes, and deprovisioning from HR triggers.</summary>
internal static class LifecycleDecider
{
    /// <summary>
    /// New hire: birthright from the directory's attributes. The account may still be disabled (HR provisioning
    /// often enables it on the start date); granting birthright to it is expected, so that is not an escalation.
    /// </summary>
    public static FulfilmentPlan? Joiner(DecisionContext ctx, Findings findings)
    {
        if (ctx.TargetAccountMissing && ctx.Request.RequestedFor is not null)
        {
            var waited = ctx.WaitingForAccountSince ?? TimeSpan.Zero;
            if (waited < TimeSpan.FromMinutes(ctx.Policy.Joiner.AccountWaitMinutes))
            {
                findings.Waiting = $"the account of {ctx.Request.RequestedFor.Describe()} does not exist in the directory yet (HR provisioning may lag); checking again";
                findings.RetryIn = TimeSpan.FromMinutes(Math.Clamp(ctx.Policy.Joiner.AccountWaitMinutes / 6.0, 0.05, 10));
                return null;
            }
        }

        ApprovalVerifier.CheckRejections(ctx, findings);
        CommonChecks.People(ctx, findings);
        if (ctx.Request.StartDate is null)
        {
            findings.Problem("Add the start date of the new hire.");
        }

        if (Validation.Validate(ctx, findings, []) is not { } valid)
        {
            return null;
        }

        var target = valid.Target;

        if (CommonChecks.ProtectedReason(ctx, target) is { } protectedReason)
        {
            findings.Reject(Rules.TargetProtected, $"Birthright access is not given to shared, service or break-glass accounts: {protectedReason}.");
        }

        RequireHrOrManager(ctx, findings, Rules.JoinerRequester, "a joiner");
        var (entries, roles) = Birthright(ctx, target);
        if (roles.Count == 0)
        {
            // Closing a new hire's ticket as done with nothing granted hides a data or policy gap (a department
            // spelt differently in HR, a role not yet in the policy): a person decides what the new hire needs.
            findings.Soft(Rules.JoinerNoBirthright, $"No birthright role in the policy matches {Attributes(target)}; a person decides what the new hire needs (check the department and job title in the directory).");
        }
        else
        {
            findings.Verified.Add($"Birthright roles from the directory's attributes ({Attributes(target)}): {string.Join(", ", roles)}.");
        }

        var operations = new List<DirectoryOperation>();
        foreach (var entry in entries)
        {
            if (DecisionEngine.NotAutomatable(ctx, entry) is var (rule, why))
            {
                findings.Hard(rule, $"Birthright {entry.DisplayName} cannot be granted by the service: {why}.");
                continue;
            }

            if (DecisionEngine.EffectiveTier(ctx, entry).Tier == RiskTier.Privileged)
            {
                findings.Hard(Rules.TierPrivileged, $"Birthright {entry.DisplayName} is effectively privileged; joiners never get privileged access automatically.", QueueKinds.Privileged);
                continue;
            }

            if (target.IsGuest && !entry.AllowGuests)
            {
                findings.NotVerified.Add($"{entry.DisplayName} skipped: not available to guests.");
                continue;
            }

            operations.Add(new AddMember(entry.GroupId, target.Id, entry.DisplayName));
        }

        return FulfilmentPlan.For(valid, operations);
    }

    public static FulfilmentPlan? Mover(DecisionContext ctx, Findings findings, out DateTimeOffset? scheduledFor)
    {
        scheduledFor = null;
        ApprovalVerifier.CheckRejections(ctx, findings);
        CommonChecks.People(ctx, findings);
        if (ctx.Request.EffectiveDate is null)
        {
            findings.Problem("Add the effective date of the role change.");
        }

        if (Validation.Validate(ctx, findings, []) is not { } valid)
        {
            return null;
        }

        var target = valid.Target;

        if (CommonChecks.ProtectedReason(ctx, target) is { } protectedReason)
        {
            findings.Hard(Rules.TargetProtected, $"The service never changes shared, service or break-glass accounts: {protectedReason}.");
            return null;
        }

        if (!target.AccountEnabled)
        {
            findings.Hard(Rules.TargetDisabled, $"The account {target.Describe()} is disabled; a person must check why before its access follows a role change.");
            return null;
        }

        if (!RequireHrOrManager(ctx, findings, Rules.JoinerRequester, "a role change"))
        {
            return null;
        }

        if (ctx.Request.EffectiveDate is { } effective && effective > ctx.Now)
        {
            scheduledFor = effective;
        }

        // The new set comes from the directory's current attributes; the old set from what the person holds and
        // what this service granted, because HR sync has often changed the department before the ticket arrives.
        var (newEntries, roles) = Birthright(ctx, target);
        var birthrightIds = ctx.Policy.Roles.SelectMany(r => r.Entitlements).ToHashSet(StringComparer.Ordinal);
        var direct = ctx.TargetDirectMemberships.Select(m => m.Id).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var heldOrGranted = direct.Concat(ctx.PreviouslyGrantedGroupIds).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var newGroups = newEntries.Select(e => e.GroupId).ToHashSet(StringComparer.OrdinalIgnoreCase);

        var additions = new List<DirectoryOperation>();
        foreach (var entry in newEntries.Where(e => !direct.Contains(e.GroupId)))
        {
            if (DecisionEngine.NotAutomatable(ctx, entry) is var (rule, why))
            {
                findings.Hard(rule, $"New birthright {entry.DisplayName} cannot be granted by the service: {why}.");
            }
            else if (DecisionEngine.EffectiveTier(ctx, entry).Tier == RiskTier.Privileged)
            {
                findings.Hard(Rules.TierPrivileged, $"New birthright {entry.DisplayName} is effectively privileged; a person decides.", QueueKinds.Privileged);
            }
            else if (target.IsGuest && !entry.AllowGuests)
            {
                findings.NotVerified.Add($"{entry.DisplayName} skipped: not available to guests.");
            }
            else
            {
                additions.Add(new AddMember(entry.GroupId, target.Id, entry.DisplayName));
            }
        }

        var removals = new List<DirectoryOperation>();
        foreach (var groupId in heldOrGranted.Where(g => !newGroups.Contains(g)))
        {
            if (ctx.Policy.FindEntitlementByGroup(groupId) is not { } entry || !birthrightIds.Contains(entry.Id))
            {
                continue;
            }

            // A group this service granted may not be listed by the directory yet (replication lag); its facts then
            // come from the group itself. Removing someone who is not a member is a no-op.
            var membership = ctx.TargetDirectMemberships.FirstOrDefault(m => string.Equals(m.Id, groupId, StringComparison.OrdinalIgnoreCase));
            var group = ctx.Groups.GetValueOrDefault(groupId);
            var unchangeable = membership is not null
                ? membership.IsDynamic || membership.OnPremisesSynced || membership.IsRoleAssignable
                : group is not null && (group.IsDynamic || group.OnPremisesSynced || group.IsRoleAssignable);
            if (unchangeable)
            {
                findings.Hard(Rules.GroupNotAutomatable, $"Old birthright {entry.DisplayName} cannot be removed by the service (dynamic, on-premises or role-assignable group).");
                continue;
            }

            if (entry.Tier == RiskTier.Standard)
            {
                removals.Add(new RemoveMember(groupId, target.Id, entry.DisplayName));
            }
        }

        findings.Verified.Add(roles.Count == 0
            ? $"No birthright role in the policy matches the new attributes ({Attributes(target)})."
            : $"New birthright roles from the directory ({Attributes(target)}): {string.Join(", ", roles)}.");

        var keep = DecisionEngine.SensitiveAccess(ctx);
        if (keep.Count > 0)
        {
            findings.Hard(Rules.MoverKeepsSensitive, $"After the role change {target.Describe()} still holds sensitive or privileged access that needs review: {string.Join("; ", keep)}.", QueueKinds.Privileged);
        }

        findings.PartialFulfilment = true;
        return FulfilmentPlan.For(valid, additions, removals).ContinuingAfterFailures();
    }

    public static FulfilmentPlan? Leaver(DecisionContext ctx, Findings findings, out DateTimeOffset? scheduledFor)
    {
        scheduledFor = null;
        ApprovalVerifier.CheckRejections(ctx, findings);
        CommonChecks.People(ctx, findings);
        if (ctx.Request.TerminationAt is null)
        {
            findings.Problem("Add the termination date and time (with the time zone, if it is not the company's default).");
        }

        if (Validation.Validate(ctx, findings, []) is not { } valid)
        {
            return null;
        }

        var target = valid.Target;

        if (ctx.TargetConflict is { } conflict)
        {
            findings.Hard(Rules.LeaverEmployeeNumberMismatch, conflict);
            return null;
        }

        // Matched by employee number where the ticket gives one: the account to disable must carry that number,
        // also when the number found nobody and the named person was used instead.
        if (ctx.Request.EmployeeNumber is { } number)
        {
            if (!string.Equals(target.EmployeeId?.Trim(), number.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                findings.Hard(Rules.LeaverEmployeeNumberMismatch,
                    $"The ticket gives employee number {number}, but {target.Describe()} has {target.EmployeeId ?? "no employee number"} in the directory; the service does not deprovision an account that does not carry the number HR gave.");
                return null;
            }

            findings.Verified.Add($"Employee number {number} matches {target.Describe()} in the directory.");
        }

        var requester = valid.Requester;
        var hrGroup = ctx.Policy.Leaver.HrGroupId;
        if (hrGroup is null || !ApprovalVerifier.IsMember(ctx, requester, hrGroup))
        {
            findings.Soft(Rules.LeaverRequesterNotHr, $"Leavers are processed only when HR files them; {requester.Describe()} is not in the HR group.");
            return null;
        }

        findings.Verified.Add($"Requested by {requester.Describe()}, a member of the HR group.");
        if (CommonChecks.ProtectedReason(ctx, target) is { } protectedReason)
        {
            findings.Hard(Rules.TargetProtected, $"The service never changes shared, service or break-glass accounts: {protectedReason}.", QueueKinds.Privileged);
            return null;
        }

        if (ctx.Request.TerminationAt is { } at && at > ctx.Now)
        {
            scheduledFor = at;
        }

        var isAdmin = IsAdmin(ctx, target);
        var first = new List<DirectoryOperation>();
        if (target.OnPremisesSynced)
        {
            findings.Hard(Rules.LeaverNotPermitted, $"{target.Describe()} is synchronised from on-premises AD: its sign-in must be disabled there.", QueueKinds.Privileged);
        }
        else if (isAdmin)
        {
            findings.Hard(Rules.LeaverNotPermitted, $"{target.Describe()} holds admin roles: disabling it needs a privileged role the service does not have.", QueueKinds.Privileged);
        }
        else if (target.AccountEnabled)
        {
            first.Add(new DisableAccount(target.Id));
        }
        else
        {
            findings.Verified.Add("The account was already disabled.");
        }

        first.Add(new RevokeSessions(target.Id));

        var keep = ctx.Policy.Leaver.KeepGroupIds.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var removals = new List<DirectoryOperation>();
        var left = new List<string>();
        foreach (var membership in ctx.TargetDirectMemberships)
        {
            var name = membership.DisplayName ?? membership.Id;
            if (membership.Kind == MembershipKind.DirectoryRole)
            {
                left.Add($"directory role {name}");
            }
            else if (keep.Contains(membership.Id))
            {
                findings.Verified.Add($"Kept {name}: the policy keeps it for leavers (licence, legal hold).");
            }
            else if (membership.IsDynamic)
            {
                findings.Verified.Add($"Left {name}: dynamic membership follows the account's attributes.");
            }
            else if (membership.OnPremisesSynced || membership.IsRoleAssignable)
            {
                left.Add($"{name} ({(membership.OnPremisesSynced ? "on-premises group" : "role-assignable group")})");
            }
            else
            {
                removals.Add(new RemoveMember(membership.Id, target.Id, name));
            }
        }

        if (left.Count > 0)
        {
            findings.Hard(Rules.LeaverNotPermitted, $"Memberships the service cannot remove: {string.Join("; ", left)}.", QueueKinds.Privileged);
        }

        findings.PartialFulfilment = true;
        return FulfilmentPlan.For(valid, first, removals).RecordingRemovals().ContinuingAfterFailures();
    }

    /// <summary>Directory roles, role-assignable groups or privileged catalog groups make an account an admin.</summary>
    public static bool IsAdmin(DecisionContext ctx, DirectoryUser user) =>
        ctx.MembershipsOf(user).Any(m => m.Kind == MembershipKind.DirectoryRole || m.IsRoleAssignable
            || ctx.Policy.FindEntitlementByGroup(m.Id) is { Tier: RiskTier.Privileged });

    private static bool RequireHrOrManager(DecisionContext ctx, Findings findings, string rule, string what)
    {
        var requester = ctx.Requester?.User;
        var target = ctx.Target?.User;
        if (requester is null || target is null)
        {
            return false;
        }

        if (ctx.Policy.Leaver.HrGroupId is { } hr && ApprovalVerifier.IsMember(ctx, requester, hr))
        {
            findings.Verified.Add($"Requested by {requester.Describe()}, a member of the HR group.");
            return true;
        }

        if (target.Manager?.Id == requester.Id)
        {
            findings.Verified.Add($"Requested by {requester.Describe()}, the person's manager per the directory.");
            return true;
        }

        findings.Soft(rule, $"{Capitalise(what)} must be filed by HR or the person's manager; {requester.Describe()} is neither.");
        return false;
    }

    private static (List<CatalogEntry> Entries, List<string> Roles) Birthright(DecisionContext ctx, DirectoryUser target)
    {
        var roles = ctx.Policy.Roles.Where(r => r.Matches(target)).ToList();
        var entries = roles.SelectMany(r => r.Entitlements)
            .Distinct(StringComparer.Ordinal)
            .Select(ctx.Policy.FindEntitlement)
            .OfType<CatalogEntry>()
            .ToList();
        return (entries, roles.Select(r => r.Id).ToList());
    }

    private static string Attributes(DirectoryUser user) =>
        $"department {user.Department ?? "(none)"}, job title {user.JobTitle ?? "(none)"}, employee type {user.EmployeeType ?? "(none)"}";

    private static string Capitalise(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
