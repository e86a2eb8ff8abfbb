using System.Globalization;
using System.Text;

namespace IamFulfillment.Core.Reporting;

/// <summary>The seed role's KPIs (section 7), computed from the audit trail.</summary>
public sealed record KpiReport
{
    public int Rounds { get; init; }
    public double AutoFulfilmentRate { get; init; }
    public double NeedsInfoRate { get; init; }
    public double EscalationRate { get; init; }
    public TimeSpan? MedianTimeToProvision { get; init; }
    public TimeSpan? MedianTimeToDeprovision { get; init; }
    public double SlaAttainment { get; init; }
    public double EscalationCompleteness { get; init; }
    public double EvidenceCompleteness { get; init; }
    public int ActiveTimeBoundGrants { get; init; }

    public string ToMarkdown()
    {
        var text = new StringBuilder()
            .AppendLine("| KPI | value |")
            .AppendLine("|---|---|");
        void Row(string name, string value) => text.Append("| ").Append(name).Append(" | ").Append(value).AppendLine(" |");
        Row("Rounds decided", Rounds.ToString(CultureInfo.InvariantCulture));
        Row("Auto-fulfilment rate", Percent(AutoFulfilmentRate));
        Row("NeedsInfo rate", Percent(NeedsInfoRate));
        Row("Escalation rate", Percent(EscalationRate));
        Row("Median time to provision (grant, joiner)", Duration(MedianTimeToProvision));
        Row("Median time to deprovision (removal, leaver)", Duration(MedianTimeToDeprovision));
        Row("SLA attainment", Percent(SlaAttainment));
        Row("Escalation completeness (rule, reasons, verified facts recorded)", Percent(EscalationCompleteness));
        Row("Evidence completeness (requester, target, decision, policy version, intact chain)", Percent(EvidenceCompleteness));
        Row("Active time-bound grants", ActiveTimeBoundGrants.ToString(CultureInfo.InvariantCulture));
        return text.ToString();
    }

    private static string Percent(double value) => value.ToString("P1", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan? value) => value is { } v ? $"{v.TotalSeconds:0.0} s" : "n/a";
}

public static class Kpis
{
    /// <summary>SLA per the seed: provision within 8 hours, deprovision within 1 hour; everything else within 8 hours.</summary>
    public static KpiReport Compute(IReadOnlyList<EvidenceRow> rows, int activeTimeBoundGrants)
    {
        var decided = rows.Where(r => r.Outcome is not null && !r.DryRun).ToList();
        double Rate(Func<EvidenceRow, bool> predicate) => decided.Count == 0 ? 0 : (double)decided.Count(predicate) / decided.Count;
        var provision = decided.Where(r => r.Outcome == "Fulfilled" && r.RequestType is "AccessGrant" or "Joiner").Select(r => r.Elapsed).OfType<TimeSpan>().ToList();
        var deprovision = decided.Where(r => r.Outcome is "Fulfilled" or "Escalated" && r.RequestType is "AccessRemoval" or "Leaver").Select(r => r.Elapsed).OfType<TimeSpan>().ToList();
        var withElapsed = decided.Where(r => r.Elapsed is not null).ToList();
        var withinSla = withElapsed.Count(r => r.Elapsed <= (r.RequestType is "Leaver" or "AccessRemoval" ? TimeSpan.FromHours(1) : TimeSpan.FromHours(8)));
        var escalations = decided.Where(r => r.Outcome == "Escalated").ToList();
        return new KpiReport
        {
            Rounds = decided.Count,
            AutoFulfilmentRate = Rate(r => r.Outcome == "Fulfilled" && r.DecidedBy is null),
            NeedsInfoRate = Rate(r => r.Outcome == "NeedsInfo"),
            EscalationRate = Rate(r => r.Outcome == "Escalated"),
            MedianTimeToProvision = Median(provision),
            MedianTimeToDeprovision = Median(deprovision),
            SlaAttainment = withElapsed.Count == 0 ? 0 : (double)withinSla / withElapsed.Count,
            EscalationCompleteness = escalations.Count == 0 ? 1 : (double)escalations.Count(e => e.EscalationComplete) / escalations.Count,
            EvidenceCompleteness = decided.Count == 0 ? 1 : (double)decided.Count(r => r.ChainValid && r.PolicyVersion is not null && r.Rule is not null
                && (r.Outcome == "NeedsInfo" || (r.Target is not null && r.Requester is not null))) / decided.Count,
            ActiveTimeBoundGrants = activeTimeBoundGrants,
        };
    }

    private static TimeSpan? Median(List<TimeSpan> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }
}
