using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>Separation of duties: a requested entitlement must not complete a conflicting set with what the target holds or also asks for.</summary>
internal static class SodChecker
{
    public static void Check(DecisionContext ctx, IReadOnlyList<CatalogEntry> requested, Findings findings)
    {
        var held = ctx.MembershipsOf(ctx.Target?.User)
            .Select(m => ctx.Policy.FindEntitlementByGroup(m.Id))
            .OfType<CatalogEntry>()
            .Select(e => e.Id)
            .ToHashSet(StringComparer.Ordinal);

        // What the grant gives: each requested entitlement and, through nesting, every catalog group it sits in.
        var asked = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in requested)
        {
            asked.TryAdd(entry.Id, entry.DisplayName);
        }

        foreach (var entry in requested)
        {
            foreach (var parent in DecisionEngine.CatalogParents(ctx, entry))
            {
                asked.TryAdd(parent.Id, $"{entry.DisplayName} (nested in {parent.DisplayName})");
            }
        }

        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in ctx.Policy.SeparationOfDuties)
        {
            foreach (var id in rule.Entitlements.Where(asked.ContainsKey))
            {
                foreach (var other in rule.Entitlements.Where(o => o != id && (held.Contains(o) || asked.ContainsKey(o))))
                {
                    var pair = string.CompareOrdinal(id, other) < 0 ? $"{rule.Id}:{id}:{other}" : $"{rule.Id}:{other}:{id}";
                    if (!reported.Add(pair))
                    {
                        continue;
                    }

                    var name = asked[id];
                    var otherName = held.Contains(other) ? ctx.Policy.FindEntitlement(other)?.DisplayName ?? other : asked[other];
                    var how = held.Contains(other) ? "which the person already holds" : "which is requested in the same ticket";
                    var reason = rule.Reason is null ? "" : $" ({rule.Reason})";
                    findings.Soft(Rules.SodConflict, $"Separation of duties '{rule.Id}'{reason}: {name} conflicts with {otherName}, {how}.");
                }
            }
        }

        if (reported.Count == 0 && ctx.Policy.SeparationOfDuties.Count > 0)
        {
            findings.Verified.Add("No separation-of-duties conflict with the target's current memberships.");
        }
    }
}
