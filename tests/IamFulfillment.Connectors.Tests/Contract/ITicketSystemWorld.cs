using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging.Testing;

namespace IamFulfillment.Connectors.Tests.Contract;

/// <summary>
/// One ticket system (sandbox + connector built as the hosts build it) seen through the behaviours the core relies
/// on. <see cref="TicketSystemContract{TWorld}"/> runs the same tests against every implementation, so what differs
/// between ServiceNow and Jira is only how a ticket is made and looked at, never what is expected of the connector.
/// </summary>
public interface ITicketSystemWorld : IDisposable
{
    TicketSystemKind Kind { get; }

    /// <summary>The account the service writes as (ServiceNow user name, Atlassian account id).</summary>
    string IntegrationIdentity { get; }

    /// <summary>Starts a test: clears faults and the call log and sets the sandbox clock.</summary>
    void Reset(TimeProvider sandboxClock);

    /// <summary>
    /// The connector as the hosts register it, on <paramref name="clock"/> (the system clock when null), logging at
    /// every level into <paramref name="logs"/> when given.
    /// </summary>
    ITicketSystem Connector(TimeProvider? clock = null, FakeLogCollector? logs = null);

    /// <summary>Credentials the connector holds, in every form they could leak in (raw and as sent).</summary>
    IReadOnlyList<string> Secrets { get; }

    /// <summary>A well-formed key of a ticket that does not exist.</summary>
    string UnknownKey { get; }

    /// <summary>A person; <paramref name="email"/> null (or hidden) gives a person the system shows without an address.</summary>
    ContractPerson AddPerson(string name, string? email);

    /// <summary>An access request raised by <paramref name="openedBy"/> for <paramref name="requestedFor"/>.</summary>
    string CreateAccessRequest(ContractPerson requestedFor, ContractPerson openedBy, RequestShape shape);

    /// <summary>An approval on the request: pending (<paramref name="decision"/> null), approved or rejected at <paramref name="at"/>.</summary>
    void AddApproval(string key, ContractPerson approver, bool? decision, DateTimeOffset at);

    /// <summary>A person changes the request's end date (a material change) at <paramref name="at"/>.</summary>
    void ChangeEndDate(string key, ContractPerson person, DateOnly endDate, DateTimeOffset at);

    /// <summary>A person changes the summary / short description (not material) at <paramref name="at"/>.</summary>
    void ChangeSummary(string key, ContractPerson person, string summary, DateTimeOffset at);

    /// <summary>A person writes <paramref name="text"/> on the ticket as a customer-visible comment.</summary>
    void CommentAs(string key, ContractPerson person, string text);

    /// <summary>The policy queue escalations are routed to in this system.</summary>
    EscalationQueue EscalationQueue { get; }

    /// <summary>What <see cref="RoutedTo"/> reads after an escalation to <see cref="EscalationQueue"/>.</summary>
    string ExpectedRoute { get; }

    /// <summary>The raw state each outcome leaves the ticket in (null: the state is left as it was).</summary>
    string? ExpectedState(Outcome outcome);

    /// <summary>Where the ticket is routed now: the assignment group (ServiceNow), the queue field (Jira).</summary>
    string? RoutedTo(string key);

    string RawState(string key);

    /// <summary>Comments and notes on the ticket as stored, oldest first.</summary>
    IReadOnlyList<WrittenEntry> Entries(string key);

    /// <summary>The text a reader sees when the system renders <paramref name="stored"/> (escapes undone).</summary>
    string Rendered(string stored);

    /// <summary>Markup in <paramref name="stored"/> the system would render live (HTML, links, formatting); empty when neutral.</summary>
    IReadOnlyList<string> LiveMarkup(string stored);

    /// <summary>
    /// The calls of <see cref="ContractCall.WriteBack"/>'s kind one write-back with a customer comment and an internal
    /// note makes: ServiceNow one PATCH; Jira two comment POSTs, sent in the same wave.
    /// </summary>
    int WriteBackCalls { get; }

    /// <summary>Makes the next call of the kind fail with <paramref name="fault"/>.</summary>
    void Fail(ContractCall call, ContractFault fault, int retryAfterSeconds = 0);

    /// <summary>When each call of the kind reached the sandbox (on the sandbox clock), faulted ones included.</summary>
    IReadOnlyList<DateTimeOffset> CallTimes(ContractCall call);

    /// <summary>The intake settings a host builds from this system's configuration.</summary>
    IntakeOptions IntakeOptions();

    /// <summary>A signed delivery about the ticket, exactly as the system sends it now.</summary>
    ContractDelivery BuildDelivery(string key);

    /// <summary>The same delivery sent again by the system's own retry.</summary>
    ContractDelivery Redelivery(ContractDelivery first);

    /// <summary>An authentic delivery about something the service does not handle (another table, another service desk).</summary>
    ContractDelivery UnhandledDelivery(ContractPerson person);

    /// <summary>
    /// What intake makes of the system's own retry of a delivery an hour after it was first sent: Jira retries for
    /// about an hour (a duplicate, acknowledged), ServiceNow deliveries are signed with their time (a replay, refused).
    /// </summary>
    IntakeStatus RetryAnHourLater { get; }
}

/// <summary>A webhook delivery: the raw body bytes and the headers.</summary>
public sealed record ContractDelivery(byte[] Body, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>A person as the contract uses them: their id in the system, and how history names them.</summary>
/// <param name="ItsmId">sys_id or Atlassian account id, as <see cref="ItsmPerson.ItsmId"/> carries it.</param>
/// <param name="ChangedBy">How the audit history names the person (ServiceNow user name, Atlassian account id).</param>
/// <param name="Email">The address the system shows (null when it has none or hides it).</param>
public sealed record ContractPerson(string ItsmId, string ChangedBy, string DisplayName, string? Email);

/// <summary>The fields of an access request, by meaning.</summary>
public sealed record RequestShape(string Entitlement, string Justification, DateOnly EndDate);

/// <summary>A comment or note as stored on the ticket.</summary>
public sealed record WrittenEntry(bool CustomerVisible, string Author, string Text);

/// <summary>The calls faults are aimed at: the read of the ticket record itself, and the write-back's write.</summary>
public enum ContractCall
{
    ReadTicket,
    WriteBack,
}

public enum ContractFault
{
    /// <summary>429 with Retry-After (seconds) and X-RateLimit-Reset in the system's own format.</summary>
    RateLimited,

    /// <summary>429 with only X-RateLimit-Reset (UNIX seconds for ServiceNow, ISO-8601 to the minute for Jira).</summary>
    RateLimitedResetOnly,

    /// <summary>The call is carried out but its answer never arrives.</summary>
    LostAnswer,
}
