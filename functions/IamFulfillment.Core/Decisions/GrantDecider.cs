using System.Globalization;
using System.Text;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>AccessGrant: add the target to each requested entitlement's group.</summary>
internal static class GrantDecider
{
    public static FulfilmentPlan? Decide(DecisionContext ctx, Findings findings, out DateTimeOffset? scheduledFor)
    {
        scheduledFor = null;
        ApprovalVerifier.CheckRejections(ctx, findings);
        CommonChecks.People(ctx, findings);
        var entries = Entitlements(ctx, findings);
        CommonChecks.Justification(ctx, findings);
        CommonChecks.Dates(ctx, entries, findings);

        if (entries.Count == 0 || Validation.Validate(ctx, findings, entries) is not { } valid)
        {
            return null;
        }

        var target = valid.Target;

        if (CommonChecks.ProtectedReason(ctx, target) is { } protectedReason)
        {
            findings.Reject(Rules.TargetProtected, $"Access is not granted to shared, service or break-glass accounts: {protectedReason}.");
        }

        if (!target.AccountEnabled)
        {
            findings.Hard(Rules.TargetDisabled, $"The account {target.Describe()} is disabled; a person must check why before granting access.");
        }

        var allStandard = true;
        foreach (var entry in entries)
        {
            if (target.IsGuest && !entry.AllowGuests)
            {
                findings.Reject(Rules.TargetGuestNotAllowed, $"{entry.DisplayName} is not available to guest accounts.");
            }

            if (DecisionEngine.NotAutomatable(ctx, entry) is var (rule, why))
            {
                findings.Hard(rule, $"The service does not change this group itself: {why}.", QueueKinds.Privileged);
            }

            var (tier, because) = DecisionEngine.EffectiveTier(ctx, entry);
            allStandard &= tier == RiskTier.Standard;
            if (tier == RiskTier.Privileged)
            {
                findings.Soft(because is null ? Rules.TierPrivileged : Rules.NestedInPrivileged,
                    because is null
                        ? $"{entry.DisplayName} is privileged access: a person decides (security approval stage)."
                        : $"{entry.DisplayName} is treated as privileged because {because}: a person decides.",
                    QueueKinds.Privileged);
            }

            if (!entry.AutoFulfil)
            {
                // The policy says the service never carries this out; a security approval does not change who does it.
                findings.Hard(Rules.ManualEntitlement, $"{entry.DisplayName} is marked in the policy as never fulfilled automatically.");
            }

            if (ctx.MembershipsOf(target).Any(m => string.Equals(m.Id, entry.GroupId, StringComparison.OrdinalIgnoreCase)))
            {
                findings.Verified.Add($"{target.Describe()} already holds {entry.DisplayName}; the grant is recorded as a no-op.");
            }
        }

        SodChecker.Check(ctx, entries, findings);

        if (ApprovalVerifier.AnyPending(ctx, out var pendingWith))
        {
            findings.Waiting = $"approval requested from {pendingWith} is still pending in the ticket system";
        }

        // Membership of a nested group is membership of its parents, so their approval stages apply as well.
        var approvedFor = entries.Concat(entries.SelectMany(e => DecisionEngine.CatalogParents(ctx, e))).DistinctBy(e => e.Id).ToList();
        findings.SecurityStageApplies = true;
        findings.SecurityDecision = ApprovalVerifier.FindSecurityDecision(ctx, findings);
        ApprovalVerifier.VerifyStages(ctx, Requirements(approvedFor, findings.SecurityDecision is not null), allStandard, findings);

        if (ctx.Request.StartDate is { } start && start > ctx.Now)
        {
            scheduledFor = start;
        }

        var operations = entries.Select(e => (DirectoryOperation)new AddMember(e.GroupId, target.Id, e.DisplayName)).ToList();
        var grants = ctx.Request.EndDate is { } until
            ? entries.Select(e => new TimeBoundGrant(e.Id, e.GroupId, target.Id, until)).ToList()
            : [];
        return FulfilmentPlan.For(valid, operations).WithGrants(grants);
    }

    /// <summary>Requested entitlements by exact catalog id; unknown ids are problems (lookalikes never resolve).</summary>
    public static List<CatalogEntry> Entitlements(DecisionContext ctx, Findings findings)
    {
        var entries = new List<CatalogEntry>();
        if (ctx.Request.EntitlementIds.Count == 0)
        {
            findings.Problem("Name the access you need: one or more entitlements from the access catalog.");
            return entries;
        }

        foreach (var id in ctx.Request.EntitlementIds)
        {
            if (ctx.Policy.FindEntitlement(id) is { } entry)
            {
                entries.Add(entry);
            }
            else
            {
                findings.Problem(NotInCatalog(ctx, id));
            }
        }

        return entries;
    }

    /// <summary>
    /// Why an id matched nothing, in words the requester can act on. Nothing here matches loosely: a lookalike or
    /// invisible character is pointed out, never mapped; the only suggestion is the exact id when case alone differs.
    /// </summary>
    private static string NotInCatalog(DecisionContext ctx, string id)
    {
        var shown = new StringBuilder();
        var odd = new List<string>();
        foreach (var rune in id.EnumerateRunes())
        {
            var invisible = Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.Control or UnicodeCategory.SpaceSeparator && rune.Value != ' ';
            var code = $"U+{rune.Value:X4}";
            shown.Append(invisible ? $"<{code}>" : rune.ToString());
            if (rune.Value > 0x7E || invisible)
            {
                odd.Add(invisible ? $"an invisible character ({code})" : $"'{rune}' ({code})");
            }
        }

        var text = $"\"{CommonChecks.Shorten(shown.ToString())}\" is not an entitlement in the access catalog";
        if (odd.Count > 0)
        {
            var which = string.Join(", ", odd.Distinct(StringComparer.Ordinal).Take(3));
            return odd.All(o => o.StartsWith("an invisible", StringComparison.Ordinal))
                ? $"{text}: it contains {which}. Type the id again as the catalog spells it."
                : $"{text}: it contains {which}, which only looks like an ordinary letter or digit. Type the id again as the catalog spells it.";
        }

        if (ctx.Policy.FindEntitlement(id.ToLowerInvariant()) is { } lower)
        {
            return $"{text}: catalog ids are written in lower case (\"{lower.Id}\").";
        }

        return $"{text} (ids must match the catalog exactly).";
    }

    /// <summary>The union of the stages the entitlements need; owner stages are per entitlement.</summary>
    public static List<StageRequirement> Requirements(IEnumerable<CatalogEntry> entries, bool securityApproved)
    {
        var list = new List<StageRequirement>();
        foreach (var entry in entries)
        {
            foreach (var stage in entry.RequiredStages)
            {
                if (stage == ApprovalStage.Owner)
                {
                    if (!list.Any(r => r.Stage == ApprovalStage.Owner && string.Equals(r.Entry?.Owner, entry.Owner, StringComparison.OrdinalIgnoreCase) && entry.Owner is not null))
                    {
                        list.Add(new StageRequirement(stage, entry));
                    }
                }
                else if (stage == ApprovalStage.Security)
                {
                    // Verified once, by FindSecurityDecision; reported missing here only when absent.
                    if (!securityApproved && list.All(r => r.Stage != ApprovalStage.Security))
                    {
                        list.Add(new StageRequirement(stage, entry));
                    }
                }
                else if (list.All(r => r.Stage != stage))
                {
                    list.Add(new StageRequirement(stage, entry));
                }
            }
        }

        return list;
    }
}
