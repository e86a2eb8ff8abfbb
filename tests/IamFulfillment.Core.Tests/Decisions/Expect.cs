using System.Text;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Policy;
using Xunit.Abstractions;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>
/// What a case expects of the verdict. Outcome, rule, queue, plan, dry-run, decider and schedule are always
/// compared exactly (unset means "none"), so a case fails when the engine does more than it says; texts are
/// compared by the phrases that carry the meaning.
/// </summary>
internal sealed record Expect
{
    public Outcome? Outcome { get; init; }
    public string? Rule { get; init; }
    public string? Queue { get; init; }

    /// <summary>The plan's stages in order, each as its step ids joined by " + " (see <see cref="Step"/>); null = no plan at all.</summary>
    public IReadOnlyList<string>? Steps { get; init; }

    public string? WaitingFor { get; init; }
    public int? ProblemCount { get; init; }
    public IReadOnlyList<string> ProblemTexts { get; init; } = [];
    public IReadOnlyList<string> ReasonRules { get; init; } = [];
    public IReadOnlyList<string> ReasonTexts { get; init; } = [];
    public IReadOnlyList<string> VerifiedTexts { get; init; } = [];
    public IReadOnlyList<string> NotVerifiedTexts { get; init; } = [];
    public string? SummaryText { get; init; }
    public bool DryRun { get; init; }
    public string? DecidedBy { get; init; }
    public DateTimeOffset? ScheduledFor { get; init; }
    public IReadOnlyList<(string Entitlement, DateTimeOffset Until)> Grants { get; init; } = [];

    public static Expect Fulfilled(params string[] steps) => new() { Outcome = Core.Decisions.Outcome.Fulfilled, Rule = Rules.Fulfil, Steps = steps };

    /// <summary>An escalation that a member of the security approvers group approved in the ticket: carried out, recording who decided.</summary>
    public static Expect FulfilledBySecurity(string decider, params string[] steps) =>
        Fulfilled(steps) with { Rule = Rules.FulfilByDecision, DecidedBy = decider };

    /// <summary>Missing or invalid information: exactly these problems (one phrase each), in one decision.</summary>
    public static Expect NeedsInfo(params string[] problems) =>
        new() { Outcome = Core.Decisions.Outcome.NeedsInfo, Rule = Rules.Incomplete, ProblemCount = problems.Length, ProblemTexts = problems };

    public static Expect Escalated(string rule, string queue = QueueKinds.Iam) =>
        new() { Outcome = Core.Decisions.Outcome.Escalated, Rule = rule, Queue = queue, ReasonRules = [rule] };

    public static Expect Rejected(string rule, string summary) =>
        new() { Outcome = Core.Decisions.Outcome.Rejected, Rule = rule, SummaryText = summary };

    public static Expect Waits(string waitingFor) => new() { WaitingFor = waitingFor };

    public Expect Plan(params string[] steps) => this with { Steps = steps };

    public Expect Because(string rule, string? text = null) => this with
    {
        ReasonRules = [.. ReasonRules, rule],
        ReasonTexts = text is null ? ReasonTexts : [.. ReasonTexts, text],
    };

    public Expect Saying(string reasonText) => this with { ReasonTexts = [.. ReasonTexts, reasonText] };

    public Expect Verifying(string text) => this with { VerifiedTexts = [.. VerifiedTexts, text] };

    public Expect NotVerifying(string text) => this with { NotVerifiedTexts = [.. NotVerifiedTexts, text] };

    public Expect Summary(string text) => this with { SummaryText = text };

    public Expect AsDryRun() => this with { DryRun = true };

    public Expect By(string decider) => this with { DecidedBy = decider };

    public Expect Scheduled(DateTimeOffset at) => this with { ScheduledFor = at };

    public Expect WithGrant(string entitlement, DateTimeOffset until) => this with { Grants = [.. Grants, (entitlement, until)] };

    public void Check(Verdict verdict, DecisionContext ctx)
    {
        if (WaitingFor is not null)
        {
            Assert.True(verdict.Decision is null, $"Expected to wait for '{WaitingFor}', but decided:\n{Describe(verdict.Decision)}");
            Assert.Contains(WaitingFor, verdict.WaitingFor, StringComparison.Ordinal);
            return;
        }

        Assert.True(verdict.WaitingFor is null, $"Expected a decision, but the engine waits: {verdict.WaitingFor}");
        var d = verdict.Decision!;
        var what = Describe(d);
        Assert.True(d.Outcome == Outcome, $"Outcome: expected {Outcome}, got {d.Outcome}.\n{what}");
        Assert.True(d.Rule == Rule, $"Rule: expected {Rule}, got {d.Rule}.\n{what}");
        Assert.True(d.QueueKind == (Outcome == Core.Decisions.Outcome.Escalated ? Queue : null), $"Queue: expected {Queue}, got {d.QueueKind}.\n{what}");
        Assert.True(d.PolicyVersion == ctx.Policy.Version, $"Policy version: expected {ctx.Policy.Version}, got {d.PolicyVersion}.\n{what}");
        Assert.True(d.DryRun == DryRun, $"DryRun: expected {DryRun}, got {d.DryRun}.\n{what}");
        Assert.True(d.DecidedBy == DecidedBy, $"DecidedBy: expected {DecidedBy ?? "(none)"}, got {d.DecidedBy ?? "(none)"}.\n{what}");
        Assert.True(d.ScheduledFor == ScheduledFor, $"ScheduledFor: expected {ScheduledFor?.ToString("O") ?? "(none)"}, got {d.ScheduledFor?.ToString("O") ?? "(none)"}.\n{what}");

        var steps = d.Plan?.Stages.Select(s => string.Join(" + ", s.Select(o => o.StepId))).ToList();
        Assert.True(Steps is null ? d.Plan is null : steps is not null && steps.SequenceEqual(Steps),
            $"Plan: expected {(Steps is null ? "none" : string.Join(" | ", Steps))}, got {(steps is null ? "none" : string.Join(" | ", steps))}.\n{what}");

        if (d.Outcome == Core.Decisions.Outcome.NeedsInfo)
        {
            Assert.True(d.Problems.Count == ProblemCount, $"Problems: expected {ProblemCount}, got {d.Problems.Count}.\n{what}");
        }
        else
        {
            Assert.True(d.Problems.Count == 0, $"Problems are for NeedsInfo only.\n{what}");
        }

        foreach (var text in ProblemTexts)
        {
            Assert.True(d.Problems.Any(p => p.Contains(text, StringComparison.Ordinal)), $"No problem says '{text}'.\n{what}");
        }

        if (d.Outcome == Core.Decisions.Outcome.Escalated)
        {
            Assert.True(d.Reasons.Count > 0 && d.Reasons[0].Rule == d.Rule, $"An escalation's first reason is its rule.\n{what}");
        }

        foreach (var rule in ReasonRules)
        {
            Assert.True(d.Reasons.Any(r => r.Rule == rule), $"No reason with rule {rule}.\n{what}");
        }

        foreach (var text in ReasonTexts)
        {
            Assert.True(d.Reasons.Any(r => r.Text.Contains(text, StringComparison.Ordinal)), $"No reason says '{text}'.\n{what}");
        }

        foreach (var text in VerifiedTexts)
        {
            Assert.True(d.Verified.Any(v => v.Contains(text, StringComparison.Ordinal)), $"Nothing verified says '{text}'.\n{what}");
        }

        foreach (var text in NotVerifiedTexts)
        {
            Assert.True(d.NotVerified.Any(v => v.Contains(text, StringComparison.Ordinal)), $"Nothing not-verified says '{text}'.\n{what}");
        }

        if (SummaryText is not null)
        {
            Assert.True(d.Summary.Contains(SummaryText, StringComparison.Ordinal), $"Summary does not say '{SummaryText}'.\n{what}");
        }

        var grants = d.Plan?.Grants.Select(g => (g.EntitlementId, g.Until)).ToList() ?? [];
        Assert.True(grants.SequenceEqual(Grants), $"Time-bound grants: expected {string.Join(", ", Grants)}, got {string.Join(", ", grants)}.\n{what}");
    }

    public static string Describe(Decision? d)
    {
        if (d is null)
        {
            return "(no decision)";
        }

        var text = new StringBuilder()
            .Append("  decided ").Append(d.Outcome).Append(" by ").Append(d.Rule).Append(" queue=").Append(d.QueueKind ?? "-").Append('\n')
            .Append("  summary: ").Append(d.Summary).Append('\n');
        foreach (var p in d.Problems)
        {
            text.Append("  problem: ").Append(p).Append('\n');
        }

        foreach (var r in d.Reasons)
        {
            text.Append("  reason: ").Append(r).Append('\n');
        }

        foreach (var v in d.Verified)
        {
            text.Append("  verified: ").Append(v).Append('\n');
        }

        foreach (var v in d.NotVerified)
        {
            text.Append("  not verified: ").Append(v).Append('\n');
        }

        text.Append("  plan: ").Append(d.Plan is null ? "none" : string.Join(" | ", d.Plan.Stages.Select(s => string.Join(" + ", s.Select(o => o.StepId))))).Append('\n');
        text.Append("  dryRun=").Append(d.DryRun).Append(" decidedBy=").Append(d.DecidedBy ?? "-").Append(" scheduledFor=").Append(d.ScheduledFor?.ToString("O") ?? "-");
        return text.ToString();
    }
}

/// <summary>
/// A case's name as a theory argument: serializable, so each row is its own test in runners, and shown in full
/// (xunit shortens string arguments to 50 characters).
/// </summary>
public sealed class CaseName : IXunitSerializable
{
    public CaseName()
    {
        Value = "";
    }

    public CaseName(string value)
    {
        Value = value;
    }

    public string Value { get; private set; }

    public void Deserialize(IXunitSerializationInfo info) => Value = info.GetValue<string>(nameof(Value));

    public void Serialize(IXunitSerializationInfo info) => info.AddValue(nameof(Value), Value);

    public override string ToString() => Value;
}

/// <summary>One row of a decision table: the rule it proves (its name), the differences from the default org, the expected verdict.</summary>
internal sealed record DecisionCase(string Name, Func<Scenario, Scenario> Arrange, Expect Expect)
{
    public override string ToString() => Name;

    public static TheoryData<CaseName> NamesOf(IEnumerable<DecisionCase> cases)
    {
        var data = new TheoryData<CaseName>();
        foreach (var c in cases)
        {
            data.Add(new CaseName(c.Name));
        }

        return data;
    }

    public static void Run(IEnumerable<DecisionCase> cases, CaseName name)
    {
        var c = cases.Single(x => x.Name == name.Value);
        var ctx = c.Arrange(new Scenario()).Build();
        c.Expect.Check(DecisionEngine.Decide(ctx), ctx);
    }
}

/// <summary>Step ids of directory operations, as plans record them; Alice is the default target.</summary>
internal static class Step
{
    public static string Add(string entitlement, Person? who = null) => $"add:{Ent.Group(entitlement)}:{(who ?? Org.Alice).Id}";

    public static string Remove(string entitlementOrGroup, Person? who = null) =>
        $"remove:{(Org.Policy.FindEntitlement(entitlementOrGroup) is { } e ? e.GroupId : entitlementOrGroup)}:{(who ?? Org.Alice).Id}";

    public static string Disable(Person? who = null) => $"disable:{(who ?? Org.Alice).Id}";

    public static string Revoke(Person? who = null) => $"revoke:{(who ?? Org.Alice).Id}";

    public static string Tap(Person? who = null) => $"tap:{(who ?? Org.Alice).Id}";

    public static string Methods(Person? who = null) => $"methods:{(who ?? Org.Alice).Id}";

    /// <summary>Operations that run side by side in one stage.</summary>
    public static string Together(params string[] steps) => string.Join(" + ", steps);
}
