using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>Either a decision, or the ITSM's own approval flow is still running and nothing is due yet.</summary>
public sealed record Verdict(Decision? Decision, string? WaitingFor, TimeSpan? RetryIn = null)
{
    public static Verdict Wait(string why, TimeSpan? retryIn = null) => new(null, why, retryIn);
}

/// <summary>
/// Decides a ticket like a careful junior IAM administrator: acts alone only on complete, independently approved,
/// standard requests; sends everything else to people with the reasons; never guesses.
/// Pure: every fact comes in through <see cref="DecisionContext"/>.
/// </summary>
public static class DecisionEngine
{
    public static Verdict Decide(DecisionContext ctx)
    {
        var findings = new Findings();
        foreach (var problem in ctx.Request.ParseProblems)
        {
            findings.Problem(problem);
        }

        FulfilmentPlan? plan = null;
        DateTimeOffset? scheduledFor = null;
        switch (ctx.Request.Type)
        {
            case null:
                CommonChecks.People(ctx, findings);
                if (ctx.Request.RawType is null)
                {
                    findings.Problem("Say what kind of request this is (access grant, access removal, joiner, mover, leaver or MFA reset).");
                }

                break;
            case RequestType.AccessGrant:
                plan = GrantDecider.Decide(ctx, findings, out scheduledFor);
                break;
            case RequestType.AccessRemoval:
                plan = RemovalDecider.Decide(ctx, findings);
                break;
            case RequestType.Joiner:
                plan = LifecycleDecider.Joiner(ctx, findings);
                break;
            case RequestType.Mover:
                plan = LifecycleDecider.Mover(ctx, findings, out scheduledFor);
                break;
            case RequestType.Leaver:
                plan = LifecycleDecider.Leaver(ctx, findings, out scheduledFor);
                break;
            case RequestType.MfaReset:
                plan = MfaResetDecider.Decide(ctx, findings);
                break;
        }

        return Resolve(ctx, findings, plan, scheduledFor);
    }

    private static Verdict Resolve(DecisionContext ctx, Findings findings, FulfilmentPlan? plan, DateTimeOffset? scheduledFor)
    {
        var version = ctx.Policy.Version;
        var dryRun = ctx.Policy.DryRun || EntriesOf(ctx).Any(e => e.DryRun) || AddsDryRunEntitlement(ctx, plan);
        Decision Make(Outcome outcome, string rule, string summary, FulfilmentPlan? withPlan = null) => new()
        {
            Outcome = outcome,
            Rule = rule,
            Summary = summary,
            Problems = outcome == Outcome.NeedsInfo ? findings.Problems.Distinct(StringComparer.Ordinal).ToList() : [],
            Reasons = [.. findings.HardEscalations, .. findings.SoftEscalations, .. findings.PolicyRejections],
            Verified = findings.Verified.Distinct(StringComparer.Ordinal).ToList(),
            NotVerified = findings.NotVerified.Distinct(StringComparer.Ordinal).ToList(),
            QueueKind = outcome == Outcome.Escalated ? findings.QueueKind : null,
            Plan = withPlan,
            DryRun = dryRun,

            // Only a decision the security approver actually carried out names them as its decider.
            DecidedBy = rule == Rules.FulfilByDecision ? findings.SecurityDecision : null,
            SecurityApprovalCarriesOut = outcome == Outcome.Escalated && findings.SecurityStageApplies && plan is not null
                && findings.HardEscalations.Count == 0 && findings.SoftEscalations.Count > 0 && ctx.Policy.Approvals.SecurityApproverGroupId is not null,
            PolicyVersion = version,
            ScheduledFor = withPlan is null ? null : scheduledFor,
        };

        if (findings.ApprovalRejection is { } rejection)
        {
            return new Verdict(Make(Outcome.Rejected, rejection.Rule, rejection.Text), null);
        }

        if (findings.Problems.Count > 0)
        {
            var count = findings.Problems.Distinct(StringComparer.Ordinal).Count();
            return new Verdict(Make(Outcome.NeedsInfo, Rules.Incomplete, count == 1 ? "One thing is missing or invalid in the request." : $"{count} things are missing or invalid in the request."), null);
        }

        if (findings.PolicyRejections.Count > 0)
        {
            var first = findings.PolicyRejections[0];
            return new Verdict(Make(Outcome.Rejected, first.Rule, first.Text), null);
        }

        if (findings.Waiting is { } waiting)
        {
            return Verdict.Wait(waiting, findings.RetryIn);
        }

        if (findings.HardEscalations.Count > 0)
        {
            // Do what the service may do (leaver, mover), and hand the rest to people at once.
            var first = findings.HardEscalations[0];
            return new Verdict(Make(Outcome.Escalated, first.Rule, first.Text, Partial(findings, plan)), null);
        }

        if (findings.SoftEscalations.Count > 0)
        {
            if (findings.SecurityDecision is { } decider && plan is not null)
            {
                return new Verdict(Make(Outcome.Fulfilled, Rules.FulfilByDecision,
                    $"Escalated for: {string.Join("; ", findings.SoftEscalations.Select(f => f.Rule))}; approved by {decider} in the security stage.", plan), null);
            }

            var first = findings.SoftEscalations[0];
            return new Verdict(Make(Outcome.Escalated, first.Rule, first.Text, Partial(findings, plan)), null);
        }

        if (plan is null)
        {
            return new Verdict(Make(Outcome.Escalated, Rules.UnsupportedType, "The service has no automatic fulfilment for this request."), null);
        }

        return new Verdict(Make(Outcome.Fulfilled, Rules.Fulfil, "All checks passed.", plan), null);
    }

    /// <summary>
    /// Shadow mode per entitlement covers every plan that would grant it, birthright included (joiner, mover).
    /// Removals are not held back by it: a leaver is deprovisioned whatever the entitlement's rollout state.
    /// </summary>
    private static bool AddsDryRunEntitlement(DecisionContext ctx, FulfilmentPlan? plan) =>
        plan is not null && plan.Operations.OfType<AddMember>().Any(a => ctx.Policy.FindEntitlementByGroup(a.GroupId) is { DryRun: true });

    private static FulfilmentPlan? Partial(Findings findings, FulfilmentPlan? plan) =>
        findings.PartialFulfilment && plan is { } p && p.Operations.Any() ? p : null;

    internal static IEnumerable<CatalogEntry> EntriesOf(DecisionContext ctx) =>
        ctx.Request.EntitlementIds.Select(ctx.Policy.FindEntitlement).OfType<CatalogEntry>();

    /// <summary>
    /// The tier a catalog group effectively has: its own, or that of the strictest catalog group the directory
    /// nests it in (membership there inherits that access: nested in a privileged group is privileged).
    /// </summary>
    internal static (RiskTier Tier, string? Because) EffectiveTier(DecisionContext ctx, CatalogEntry entry)
    {
        if (entry.Tier == RiskTier.Privileged)
        {
            return (RiskTier.Privileged, null);
        }

        var parents = ctx.Groups.GetValueOrDefault(entry.GroupId)?.ParentGroupIds ?? [];
        if (ctx.Policy.ControlGroups().FirstOrDefault(c => parents.Contains(c.GroupId, StringComparer.OrdinalIgnoreCase)) is { GroupId: not null } control)
        {
            return (RiskTier.Privileged, $"its group is nested in {control.What}");
        }

        var strictest = CatalogParents(ctx, entry).Where(p => p.Tier > entry.Tier).MaxBy(p => p.Tier);
        return strictest is null
            ? (entry.Tier, null)
            : (strictest.Tier, $"its group is nested in the {strictest.Tier.ToString().ToLowerInvariant()} group of {strictest.DisplayName}");
    }

    /// <summary>Catalog entries of the groups the directory nests this entry's group in: whoever gets it gets them.</summary>
    internal static IReadOnlyList<CatalogEntry> CatalogParents(DecisionContext ctx, CatalogEntry entry) =>
        ctx.Groups.GetValueOrDefault(entry.GroupId) is { } group
            ? group.ParentGroupIds.Select(ctx.Policy.FindEntitlementByGroup).OfType<CatalogEntry>().Where(p => p.Id != entry.Id).DistinctBy(p => p.Id).ToList()
            : [];

    /// <summary>
    /// Groups the service must never change itself: role-assignable, dynamic, on-premises-synced, missing from the
    /// directory, or not checked at all (no directory facts were read for it: fail closed, never assume a plain group).
    /// </summary>
    internal static (string Rule, string Why)? NotAutomatable(DecisionContext ctx, CatalogEntry entry)
    {
        if (!ctx.Groups.TryGetValue(entry.GroupId, out var group))
        {
            return (Rules.GroupUnchecked, $"the directory facts of the group {entry.GroupId} of {entry.DisplayName} were not read, so it cannot be checked that the service may change it");
        }

        if (group is null)
        {
            return (Rules.GroupNotFound, $"the group {entry.GroupId} of {entry.DisplayName} does not exist in the directory");
        }

        var why = group.IsRoleAssignable ? $"the group of {entry.DisplayName} is role-assignable (changes need a privileged role administrator)"
            : group.IsDynamic ? $"the group of {entry.DisplayName} has dynamic membership (its rule decides who is in it)"
            : group.OnPremisesSynced ? $"the group of {entry.DisplayName} is synchronised from on-premises AD (change it there)"
            : null;
        return why is null ? null : (Rules.GroupNotAutomatable, why);
    }

    /// <summary>The target's current access that a reviewer should see: privileged and sensitive entitlements, admin roles.</summary>
    public static IReadOnlyList<string> SensitiveAccess(DecisionContext ctx)
    {
        var list = new List<string>();
        foreach (var membership in ctx.MembershipsOf(ctx.Target?.User))
        {
            if (membership.Kind == MembershipKind.DirectoryRole)
            {
                list.Add($"directory role {membership.DisplayName ?? membership.Id}");
            }
            else if (ctx.Policy.FindEntitlementByGroup(membership.Id) is { Tier: >= RiskTier.Sensitive } entry)
            {
                list.Add($"{entry.DisplayName} ({entry.Tier.ToString().ToLowerInvariant()}, group {membership.Id})");
            }
            else if (membership.IsRoleAssignable)
            {
                list.Add($"role-assignable group {membership.DisplayName ?? membership.Id}");
            }
            else if (ctx.Policy.ControlGroups().FirstOrDefault(c => string.Equals(c.GroupId, membership.Id, StringComparison.OrdinalIgnoreCase)) is { GroupId: not null } control)
            {
                list.Add($"member of {control.What} ({membership.Id})");
            }
        }

        return list;
    }
}
