using System.Globalization;
using IamFulfillment.Connectors.ServiceNow;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Sandbox.ServiceNow;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

public enum Itsm
{
    ServiceNow,
    Jira,
}

/// <summary>Where a ticket stands in its ITSM, in words both systems share.</summary>
public enum DeskStatus
{
    Open,
    AwaitingCustomer,
    Escalated,
    Resolved,
    Declined,
}

/// <summary>The escalation queues of the demo policy, as both ITSMs name them (case aside).</summary>
public static class Queues
{
    public const string Iam = "iam operations";
    public const string Privileged = "iam privileged access";
    public const string Soc = "security operations";
    public const string OnCall = "iam on-call";
}

/// <summary>
/// A person in the ticket systems: a seeded or test employee, or a new hire the directory does not know yet.
/// </summary>
public sealed record Who(string Name, string ServiceNowSysId, string JiraAccountId)
{
    public static implicit operator Who(DemoPerson person) => new(person.DisplayName, person.ServiceNowSysId, person.JiraAccountId);

    public static implicit operator Who(PendingHire hire) => new(hire.Name, hire.ServiceNowSysId, hire.JiraAccountId);
}

/// <summary>
/// Files requests the way people do in either ITSM: a ServiceNow catalog item with variables, or a JSM request
/// with custom fields. The same scenario runs through both connectors.
/// </summary>
public abstract class Desk(SandboxWorld world)
{
    public const string VerifiedByVideo = "video-call-with-photo-id";

    public SandboxWorld World { get; } = world;
    protected DemoOrganisation Demo => World.Demo;
    public DateTimeOffset Now => World.ServiceNow.Time.GetUtcNow();

    public static Desk For(Itsm itsm, SandboxWorld world) => itsm == Itsm.ServiceNow ? new ServiceNowDesk(world) : new JiraDesk(world);

    /// <summary>A leaver filed by <paramref name="requester"/> (HR by default), effective at <paramref name="terminationAt"/> (default: a minute ago).</summary>
    public DeskTicket Leaver(Who target, string requester = "hedy", DateTimeOffset? terminationAt = null, string? employeeNumber = null) =>
        File(DemoRequest.Leaver, target, requester, new()
        {
            [RequestFields.TerminationDate] = terminationAt ?? Now.AddMinutes(-1),
            [RequestFields.EmployeeNumber] = employeeNumber,
            [RequestFields.Reason] = "Resignation",
        });

    public DeskTicket Joiner(Who target, string requester = "hedy", DateOnly? start = null) =>
        File(DemoRequest.Joiner, target, requester, new() { [RequestFields.StartDate] = start ?? DateOnly.FromDateTime(Now.UtcDateTime) });

    public DeskTicket Mover(Who target, string requester = "hedy", DateOnly? effective = null) =>
        File(DemoRequest.Mover, target, requester, new() { [RequestFields.EffectiveDate] = effective ?? DateOnly.FromDateTime(Now.UtcDateTime) });

    /// <summary>An MFA reset filed by the service desk, with the identity evidence (pass null to leave a field out).</summary>
    public DeskTicket MfaReset(Who target, string requester = "lynn", string? verifiedBy = "lynn", string? method = VerifiedByVideo, DateTimeOffset? verifiedAt = null, bool omitVerifiedAt = false, string? reason = "Lost phone; new device") =>
        File(DemoRequest.MfaReset, target, requester, new()
        {
            [RequestFields.VerificationMethod] = method,
            [RequestFields.VerifiedBy] = verifiedBy is null ? null : (Who)Demo[verifiedBy],
            [RequestFields.VerifiedAt] = omitVerifiedAt ? null : verifiedAt ?? Now.AddMinutes(-3),
            [RequestFields.Reason] = reason,
        });

    /// <summary>Files a request; field values are text, <see cref="DateOnly"/>, <see cref="DateTimeOffset"/> or <see cref="Who"/>; nulls are left out.</summary>
    public abstract DeskTicket File(DemoRequest type, Who target, string requester, Dictionary<string, object?> fields);
}

/// <summary>A filed ticket: deliver its webhook, then read what the service wrote back, in either ITSM.</summary>
public abstract class DeskTicket
{
    public abstract TicketRef Ref { get; }
    public abstract string Number { get; }
    public abstract Itsm Itsm { get; }

    /// <summary>The ITSM's webhook for the ticket as it is now, through the host's route (the answer only).</summary>
    public abstract Task<HttpResponseMessage> SendAsync(HostUnderTest host);

    /// <summary>Sends the webhook and waits until the run it causes has settled.</summary>
    public Task<TicketState> RunAsync(HostUnderTest host) => host.DeliverAsync(Ref, () => SendAsync(host));

    /// <summary>
    /// Runs the ticket on a host whose store holds one save (<see cref="HoldsOneSave"/>): once the save is asked,
    /// <paramref name="whileHeld"/> looks at the world, then the save is let go and the run settles.
    /// </summary>
    public async Task<TicketState> RunHoldingASaveAsync(HostUnderTest host, Func<Task> whileHeld)
    {
        var save = host.App.Services.GetRequiredService<HoldsOneSave>();
        var run = RunAsync(host);
        try
        {
            await save.Asked.WaitAsync(TimeSpan.FromSeconds(30));
            await whileHeld();
        }
        finally
        {
            save.Release();
        }

        return await run;
    }

    /// <summary>Customer-visible comments the service wrote, as a person reads them.</summary>
    public abstract IReadOnlyList<string> CustomerComments { get; }

    /// <summary>Internal notes (ServiceNow work notes, JSM internal comments) the service wrote.</summary>
    public abstract IReadOnlyList<string> InternalNotes { get; }

    public abstract DeskStatus Status { get; }

    /// <summary>The escalation queue the ticket was routed to (see <see cref="Queues"/>), or null.</summary>
    public abstract string? Queue { get; }

    public string Comment => Assert.Single(CustomerComments);
    public string Note => Assert.Single(InternalNotes);

    /// <summary>Everything the service wrote on the ticket.</summary>
    public string WrittenText => string.Join("\n", CustomerComments.Concat(InternalNotes));

    public override string ToString() => $"{Itsm} {Number}";
}

public sealed class ServiceNowDesk(SandboxWorld world) : Desk(world)
{
    // The form is filled in with the catalog variables the host's default field map reads.
    private static readonly IReadOnlyDictionary<string, string> Variables = ServiceNowFieldMap.DefaultVariables;

    private static readonly Dictionary<string, int> Types = new(StringComparer.Ordinal)
    {
        ["start_date"] = 9, ["end_date"] = 9, ["effective_date"] = 9, ["termination_date"] = 10, ["verified_at"] = 10, ["verified_by"] = 8,
    };

    public const string GoodJustification = "Monthly close reporting for the EMEA ledger";

    public override DeskTicket File(DemoRequest type, Who target, string requester, Dictionary<string, object?> fields) =>
        FileItem(type, target, requester, fields);

    /// <summary>
    /// An access request for <paramref name="target"/> (opened by the target unless <paramref name="requester"/> says
    /// otherwise); <paramref name="endInDays"/> sets an end date that many days from today.
    /// </summary>
    public ServiceNowTicket Grant(Who target, string entitlements, string? requester = null, string? justification = GoodJustification, int? endInDays = null, string? endDate = null)
    {
        var requesterKey = requester ?? Demo.Everyone.Single(p => p.ServiceNowSysId == target.ServiceNowSysId).Key;
        return FileItem(DemoRequest.AccessGrant, target, requesterKey, new()
        {
            [RequestFields.Entitlements] = entitlements,
            [RequestFields.Justification] = justification,
            [RequestFields.EndDate] = (object?)endDate ?? (endInDays is { } days ? DateOnly.FromDateTime(Now.UtcDateTime.AddDays(days)) : null),
        });
    }

    /// <summary>A requested item as the catalog creates it, opened ten minutes ago.</summary>
    public ServiceNowTicket FileItem(DemoRequest type, Who target, string requester, Dictionary<string, object?> fields, DateTimeOffset? openedAt = null)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, value) in fields)
        {
            if (value is not null)
            {
                variables[Variables[field]] = Format(value);
            }
        }

        var ritm = World.ServiceNow.AddRitm(new RitmSeed
        {
            CatalogItem = Demo.CatalogItem(type),
            RequestedFor = target.ServiceNowSysId,
            OpenedBy = Demo[requester].ServiceNowSysId,
            Variables = variables,
            VariableTypes = Types,
            OpenedAt = openedAt ?? Now.AddMinutes(-10),
            ShortDescription = $"{type} for {target.Name}",
        });
        return new ServiceNowTicket(World, ritm);
    }

    /// <summary>A variable's value as the platform stores it: dates as yyyy-MM-dd, date-times in UTC, people as sys_ids.</summary>
    public static string Format(object value) => value switch
    {
        string text => text,
        DateOnly day => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset at => ServiceNowTables.FormatTime(at),
        Who who => who.ServiceNowSysId,
        _ => throw new ArgumentException($"Unsupported variable value {value.GetType().Name}.", nameof(value)),
    };
}

public sealed class JiraDesk(SandboxWorld world) : Desk(world)
{
    private static readonly Dictionary<string, string> CustomFields = new(StringComparer.Ordinal)
    {
        [RequestFields.Entitlements] = DemoOrganisation.JiraFields.Entitlements,
        [RequestFields.Justification] = DemoOrganisation.JiraFields.Justification,
        [RequestFields.StartDate] = DemoOrganisation.JiraFields.StartDate,
        [RequestFields.EndDate] = DemoOrganisation.JiraFields.EndDate,
        [RequestFields.EffectiveDate] = DemoOrganisation.JiraFields.EffectiveDate,
        [RequestFields.TerminationDate] = DemoOrganisation.JiraFields.TerminationDate,
        [RequestFields.TimeZone] = DemoOrganisation.JiraFields.TimeZone,
        [RequestFields.EmployeeNumber] = DemoOrganisation.JiraFields.EmployeeNumber,
        [RequestFields.VerificationMethod] = DemoOrganisation.JiraFields.VerificationMethod,
        [RequestFields.VerifiedBy] = DemoOrganisation.JiraFields.VerifiedBy,
        [RequestFields.VerifiedAt] = DemoOrganisation.JiraFields.VerifiedAt,
        [RequestFields.Reason] = DemoOrganisation.JiraFields.Reason,
        [RequestFields.RequestedFor] = DemoOrganisation.JiraFields.RequestedFor,
    };

    private JiraSandbox Jira => World.Jira!;

    /// <summary>The JSM request: the reporter is the person it is for, the creator whoever raised it.</summary>
    public override DeskTicket File(DemoRequest type, Who target, string requester, Dictionary<string, object?> fields)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (field, value) in fields)
        {
            if (value is not null)
            {
                values[CustomFields[field]] = value is Who who ? Jira.User(who.JiraAccountId) : value;
            }
        }

        var key = Jira.CreateRequest(new JiraRequestSeed
        {
            ServiceDeskId = Demo.JiraServiceDeskId!,
            RequestTypeId = Demo.RequestType(type),
            ReporterId = target.JiraAccountId,
            CreatorId = Demo[requester].JiraAccountId,
            Summary = $"{type} for {target.Name}",
            Fields = values,
        });
        return new JiraTicket(Jira, key);
    }
}

public sealed class ServiceNowTicket(SandboxWorld world, SeededRitm ritm) : DeskTicket
{
    private ServiceNowSandbox Sn => world.ServiceNow;
    private DemoOrganisation Demo => world.Demo;

    public SeededRitm Ritm => ritm;
    public string SysId => ritm.SysId;
    public override TicketRef Ref => new(TicketSystemKind.ServiceNow, ritm.SysId);
    public override string Number => ritm.Number;
    public override Itsm Itsm => Itsm.ServiceNow;

    /// <summary>Default time of an approval: after the item was opened, before anything a test changes "now".</summary>
    private DateTimeOffset ApprovalTime => Sn.Time.GetUtcNow().AddMinutes(-5);

    public ServiceNowTicket ApprovedBy(string approver, DateTimeOffset? at = null)
    {
        Demo.ServiceNowApproval(SysId, approver, at: at ?? ApprovalTime);
        return this;
    }

    public ServiceNowTicket RejectedBy(string approver, string comment)
    {
        Demo.ServiceNowApproval(SysId, approver, approve: false, comment: comment, at: ApprovalTime);
        return this;
    }

    /// <summary>An approval requested from the person and not yet decided.</summary>
    public ServiceNowTicket AwaitingApprovalFrom(string approver)
    {
        Sn.AddApproval(SysId, Demo[approver].ServiceNowSysId);
        return this;
    }

    /// <summary><paramref name="delegateKey"/> approves on behalf of <paramref name="approver"/> (ServiceNow records the delegate as the updater).</summary>
    public ServiceNowTicket ApprovedByDelegate(string approver, string delegateKey)
    {
        Sn.AddApproval(SysId, Demo[approver].ServiceNowSysId, "approved", ApprovalTime, actedByUserName: Demo[delegateKey].UserName);
        return this;
    }

    /// <summary>A rejection on the parent request (sc_request), not on the item.</summary>
    public ServiceNowTicket ParentRejectedBy(string approver, string comment)
    {
        Sn.AddApproval(ritm.RequestSysId, Demo[approver].ServiceNowSysId, "rejected", ApprovalTime, comment: comment);
        return this;
    }

    /// <summary>A person edits a variable of the item (audited like the platform does).</summary>
    public void Change(string variable, string value, string by, DateTimeOffset? at = null) =>
        Sn.UpdateVariable(SysId, variable, value, Demo[by].UserName, at);

    /// <summary>A person moves the item to another state (e.g. back to Open, "1").</summary>
    public void SetState(string state, string by) =>
        Sn.UpdateRecord("sc_req_item", SysId, new Dictionary<string, string?> { ["state"] = state }, Demo[by].UserName);

    public override Task<HttpResponseMessage> SendAsync(HostUnderTest host) => host.SendAsync(Sn.BuildWebhook(SysId));

    public IReadOnlyDictionary<string, string> Item => Sn.Record("sc_req_item", SysId)!;

    /// <summary>The item's state value (1 open, -5 pending, 3 closed complete, 4 closed incomplete).</summary>
    public string State => Item["state"];

    public override IReadOnlyList<string> CustomerComments => Journal("comments");
    public override IReadOnlyList<string> InternalNotes => Journal("work_notes");

    public override DeskStatus Status => State switch
    {
        "3" => DeskStatus.Resolved,
        "4" => DeskStatus.Declined,
        "-5" => DeskStatus.AwaitingCustomer,
        _ => DeskStatus.Open,
    };

    public override string? Queue =>
        Item["assignment_group"] is { Length: > 0 } group
            ? DemoOrganisation.AssignmentGroups.FirstOrDefault(g => g.Value == group).Key?.ToLowerInvariant() ?? group
            : null;

    private List<string> Journal(string element) =>
        [.. Sn.JournalOf(SysId).Where(j => j.Element == element && j.CreatedBy == Sn.Options.IntegrationUserName).Select(j => j.Value)];
}

public sealed class JiraTicket(JiraSandbox jira, string key) : DeskTicket
{
    private bool _delivered;

    public string Key => key;
    public override TicketRef Ref => new(TicketSystemKind.Jira, key);
    public override string Number => key;
    public override Itsm Itsm => Itsm.Jira;

    /// <summary>The first delivery is Jira's issue_created; later ones (after people changed the request) issue_updated.</summary>
    public override Task<HttpResponseMessage> SendAsync(HostUnderTest host)
    {
        var delivery = jira.BuildWebhook(key, _delivered ? "jira:issue_updated" : "jira:issue_created");
        _delivered = true;
        return host.SendAsync(delivery);
    }

    public override IReadOnlyList<string> CustomerComments => Comments(isPublic: true);
    public override IReadOnlyList<string> InternalNotes => Comments(isPublic: false);

    public override DeskStatus Status => jira.StatusOf(key) switch
    {
        "Resolved" => DeskStatus.Resolved,
        "Declined" => DeskStatus.Declined,
        "Waiting for customer" => DeskStatus.AwaitingCustomer,
        "Escalated" => DeskStatus.Escalated,
        _ => DeskStatus.Open,
    };

    public override string? Queue => jira.FieldValue(key, DemoOrganisation.JiraFields.EscalationQueue)?.GetValue<string>().ToLowerInvariant();

    /// <summary>Comment bodies are Jira wiki markup with every markup character escaped; read them as a person sees them.</summary>
    private List<string> Comments(bool isPublic) =>
        [.. jira.Comments(key)
            .Where(c => c.AuthorId == jira.Options.IntegrationAccountId && c.Public == isPublic)
            .Select(c => c.Body.Replace("\\", "", StringComparison.Ordinal).Replace("\u200B", "", StringComparison.Ordinal))];
}
