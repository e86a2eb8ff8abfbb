using IamFulfillment.Sandbox.Demo;

namespace IamFulfillment.Benchmarks;

public enum Itsm
{
    ServiceNow,
    Jira,
}

/// <summary>
/// One request type on one ticket system, with its critical-path floor: the fewest sequential round trips to the
/// ITSM and Graph the work needs, whatever the implementation, derived from what each step must know first.
/// Storage (Azurite) round trips are not in the floor: they are the service's own overhead, which the ratio shows.
/// </summary>
/// <param name="FloorRoundTrips">Sequential round trips that cannot be avoided; × the added latency = the floor.</param>
/// <param name="CriticalPath">The chain those round trips form (each arrow waits for an answer).</param>
public sealed record Scenario(Itsm System, DemoRequest Request, string Name, int FloorRoundTrips, string CriticalPath)
{
    public override string ToString() => Name;

    // How the floors are derived. Reading the ticket cannot start before the webhook, the people on it cannot be
    // looked up in the directory before the ticket names them, a person's memberships cannot be read before their
    // object id is known, nothing may change before the decision (which needs all of that), the plan's stages run
    // in order (the decision declares which change must be done before the next: a leaver is disabled before its
    // memberships go; an MFA reset issues and delivers the pass before the old methods go, and revokes sessions
    // last), and the write-back reports what was done. Reads that need nothing but the ticket's id run together
    // (one round trip), as do independent changes within a stage. Two facts of the ticket systems add rounds:
    // - ServiceNow: a requested item's own record, its variables, approvals and audit history need only its sys_id
    //   (wave 1). The parent request's approvals, the variables' audit history and the sys_user rows of reference
    //   variables need wave 1's answers (wave 2), but wave 2 overlaps the directory lookups of the people wave 1
    //   names (requested for, opened by, approvers). It would cost a round trip of its own only for a person who
    //   appears nowhere but in a reference variable: an MFA verifier other than the agent who filed the ticket
    //   (the benchmark's verifier filed it, as a service desk does). Comment, work note, state and assignment go
    //   in one PATCH.
    // - Jira: the JSM request, its approvals and the issue (fields, changelog, transitions) need only the key: one
    //   round trip. The customer comment, the internal note and the transition are separate calls, sent together:
    //   one round trip (the note says what it was sent with, so it need not wait for the others to be a reliable
    //   record of the write-back).
    // - Graph: deleting authentication methods needs their ids, but the list can be read while the pass is issued,
    //   so it adds no round trip of its own.
    public static IReadOnlyList<Scenario> All { get; } =
    [
        new(Itsm.ServiceNow, DemoRequest.AccessGrant, "ServiceNow standard grant", 5,
            "item read (item ∥ variables ∥ approvals ∥ audit) → [second read wave ∥ directory lookups] → memberships → add member → one PATCH"),
        new(Itsm.ServiceNow, DemoRequest.AccessRemoval, "ServiceNow removal", 5,
            "item read → [second read wave ∥ directory lookups] → memberships → remove member → one PATCH"),
        new(Itsm.ServiceNow, DemoRequest.Leaver, "ServiceNow leaver", 6,
            "item read → [second read wave ∥ lookups by e-mail and employee number] → memberships (target direct and transitive, HR requester) → disable ∥ revoke sessions → remove memberships (parallel) → one PATCH"),
        new(Itsm.ServiceNow, DemoRequest.MfaReset, "ServiceNow MFA reset", 8,
            "item read → [second read wave ∥ lookups of target and requester (the service-desk agent, also the verifier)] → memberships (target, verifier) → issue pass → mail it to the manager → delete other methods (listed during the pass) → revoke sessions → one PATCH"),
        new(Itsm.Jira, DemoRequest.AccessGrant, "Jira standard grant", 5,
            "request ∥ approvals ∥ issue (changelog, transitions) → directory lookups → memberships → add member → comment ∥ internal note ∥ transition"),
        new(Itsm.Jira, DemoRequest.AccessRemoval, "Jira removal", 5,
            "request ∥ approvals ∥ issue → directory lookups → memberships → remove member → comment ∥ internal note ∥ transition"),
        new(Itsm.Jira, DemoRequest.Leaver, "Jira leaver", 6,
            "request ∥ approvals ∥ issue → directory lookups (target, HR requester) → memberships → disable ∥ revoke sessions → remove memberships (parallel) → comment ∥ internal note ∥ transition"),
        new(Itsm.Jira, DemoRequest.MfaReset, "Jira MFA reset", 8,
            "request ∥ approvals ∥ issue → directory lookups (target, verifier) → memberships → issue pass → mail it to the manager → delete other methods (listed during the pass) → revoke sessions → comment ∥ internal note ∥ transition"),
    ];
}
