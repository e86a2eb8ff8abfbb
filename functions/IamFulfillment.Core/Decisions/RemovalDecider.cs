using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>
/// AccessRemoval: take the target out of each entitlement's group. Removing access needs no approval when the
/// target, their manager or the entitlement's owner asks; anyone else needs the manager's approval.
/// </summary>
internal static class RemovalDecider
{
    public static FulfilmentPlan? Decide(DecisionContext ctx, Findings findings)
    {
        ApprovalVerifier.CheckRejections(ctx, findings);
        CommonChecks.People(ctx, findings);
        var entries = GrantDecider.Entitlements(ctx, findings);
        if (entries.Count == 0 || Validation.Validate(ctx, findings, entries) is not { } valid)
        {
            return null;
        }

        var target = valid.Target;
        var requester = valid.Requester;

        if (CommonChecks.ProtectedReason(ctx, target) is { } protectedReason)
        {
            findings.Hard(Rules.TargetProtected, $"The service never changes shared, service or break-glass accounts: {protectedReason}.");
        }

        if (!target.AccountEnabled)
        {
            // A disabled account may be a leaver in progress or on hold for an investigation: a person looks first.
            findings.Hard(Rules.TargetDisabled, $"The account {target.Describe()} is disabled; a person must check why before its access is changed.");
        }

        foreach (var entry in entries)
        {
            if (DecisionEngine.NotAutomatable(ctx, entry) is var (rule, why))
            {
                findings.Hard(rule, $"The service does not change this group itself: {why}.", QueueKinds.Privileged);
            }

            if (DecisionEngine.EffectiveTier(ctx, entry).Tier == RiskTier.Privileged)
            {
                findings.Soft(Rules.TierPrivileged, $"{entry.DisplayName} is privileged access: changes to it go to a person.", QueueKinds.Privileged);
            }

            if (!ctx.MembershipsOf(target).Any(m => string.Equals(m.Id, entry.GroupId, StringComparison.OrdinalIgnoreCase)))
            {
                findings.Verified.Add($"{target.Describe()} does not hold {entry.DisplayName}; the removal is recorded as a no-op.");
            }
        }

        var byTarget = requester.Id == target.Id;
        var byManager = target.Manager?.Id == requester.Id;
        var byOwner = entries.All(e => ApprovalVerifier.SamePerson(requester, e.Owner));
        if (byTarget || byManager || byOwner)
        {
            findings.Verified.Add($"Removal requested by {(byTarget ? "the person themselves" : byManager ? "the person's manager" : "the entitlement owner")}; no approval needed to remove access.");
        }
        else
        {
            if (ApprovalVerifier.AnyPending(ctx, out var pendingWith))
            {
                findings.Waiting = $"approval requested from {pendingWith} is still pending in the ticket system";
            }

            findings.SecurityStageApplies = true;
        findings.SecurityDecision = ApprovalVerifier.FindSecurityDecision(ctx, findings);
            var before = findings.SoftEscalations.Count;
            ApprovalVerifier.VerifyStages(ctx, [new StageRequirement(ApprovalStage.Manager)], allStandard: false, findings);
            if (findings.SoftEscalations.Count > before)
            {
                findings.Soft(Rules.RemovalRequesterNotEntitled, $"{requester.Describe()} is neither the person, their manager nor the owner, and the manager has not approved the removal.");
            }
        }

        return FulfilmentPlan.For(valid, entries.Select(e => (DirectoryOperation)new RemoveMember(e.GroupId, target.Id, e.DisplayName)).ToList());
    }
}
