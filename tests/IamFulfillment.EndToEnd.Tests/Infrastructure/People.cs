using System.Globalization;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A new hire HR has created in the ticket systems whose directory account does not exist yet (HR provisioning lags).
/// </summary>
public sealed record PendingHire(string Name, string Email, string EmployeeNumber, string Department, string Manager, string ServiceNowSysId, string JiraAccountId);

/// <summary>People of the test's own, so tests sharing a world never touch each other's accounts.</summary>
public static class People
{
    private static readonly string[] FirstNames = ["Ivy", "Omar", "Lena", "Raj", "Mia", "Tom", "Zoe", "Ben", "Nia", "Leo", "Ada", "Eli"];
    private static int _next;

    /// <summary>An employee in the directory, ServiceNow and Jira, with a manager and direct memberships.</summary>
    public static DemoPerson NewEmployee(this SandboxWorld world, string department = "Finance", string? manager = "grace", params string[] groups)
    {
        var (key, name) = NextName();
        return world.Demo.AddEmployee(key, name, department, manager, groups);
    }

    /// <summary>Changes the person's directory account (employee type, guest, disabled, synced from on-premises, …).</summary>
    public static DemoPerson InDirectory(this DemoPerson person, SandboxWorld world, Action<SandboxUser> change)
    {
        world.Graph.UpdateUser(person.GraphId, change);
        return person;
    }

    public static SandboxUser Account(this SandboxWorld world, DemoPerson person) => world.Graph.User(person.GraphId)!;

    /// <summary>Whether the person is a direct member of the entitlement's (or demo group's) group.</summary>
    public static bool Holds(this SandboxWorld world, DemoPerson person, string group) =>
        world.Graph.IsMember(DemoOrganisation.Groups.GetValueOrDefault(group) ?? group, person.GraphId);

    public static IReadOnlyList<string> DemoGroupsOf(this SandboxWorld world, DemoPerson person) =>
        [.. DemoOrganisation.Groups.Where(g => world.Graph.IsMember(g.Value, person.GraphId)).Select(g => g.Key).Order(StringComparer.Ordinal)];

    /// <summary>Makes the person a direct member of a demo group.</summary>
    public static DemoPerson InGroup(this DemoPerson person, SandboxWorld world, string group)
    {
        world.Graph.AddMember(DemoOrganisation.Groups[group], person.GraphId);
        return person;
    }

    /// <summary>Gives the person a directory role (an admin).</summary>
    public static DemoPerson WithAdminRole(this DemoPerson person, SandboxWorld world)
    {
        world.Graph.AddMember(world.Demo.AdminRoleId!, person.GraphId);
        return person;
    }

    /// <summary>Registers the MFA methods a person who lost their phone had.</summary>
    public static DemoPerson WithMfaMethods(this DemoPerson person, SandboxWorld world)
    {
        world.Graph.AddAuthenticationMethod(person.GraphId, SandboxMethodTypes.MicrosoftAuthenticator, "Old phone");
        world.Graph.AddAuthenticationMethod(person.GraphId, SandboxMethodTypes.Phone, "+44 20 7946 0001");
        return person;
    }

    /// <summary>A new hire known to ServiceNow and Jira only; <see cref="ProvisionAccount"/> creates the directory account later.</summary>
    public static PendingHire NewHire(this SandboxWorld world, string department = "Finance", string manager = "grace")
    {
        var (_, name) = NextName();
        var email = $"{name.ToLowerInvariant().Replace(' ', '.')}@{DemoOrganisation.Domain}";
        var number = "9" + Interlocked.Increment(ref _next).ToString("D5", CultureInfo.InvariantCulture);
        var sysId = world.ServiceNow.AddUser(email.Split('@')[0], name, email, number, world.Demo[manager].ServiceNowSysId);
        var jira = world.Jira!.AddUser(name, email);
        return new PendingHire(name, email, number, department, manager, sysId, jira.AccountId);
    }

    /// <summary>HR provisioning catches up: the hire's directory account appears, with the attributes birthright access follows.</summary>
    public static void ProvisionAccount(this SandboxWorld world, PendingHire hire)
    {
        var user = new SandboxUser
        {
            UserPrincipalName = hire.Email, Mail = hire.Email, DisplayName = hire.Name, Department = hire.Department, JobTitle = "Analyst",
            EmployeeType = "Employee", EmployeeId = hire.EmployeeNumber,
        };
        user.OnPremisesExtensionAttributes["extensionAttribute5"] = hire.JiraAccountId;
        var created = world.Graph.AddUser(user);
        world.Graph.SetManager(created.Id, world.Demo[hire.Manager].GraphId);
    }

    public static string? GraphIdOf(this SandboxWorld world, PendingHire hire) => world.Graph.User(hire.Email)?.Id;

    private static (string Key, string Name) NextName()
    {
        var n = Interlocked.Increment(ref _next);
        return ($"t{n}", $"{FirstNames[n % FirstNames.Length]} Tester{n.ToString("D3", CultureInfo.InvariantCulture)}");
    }
}
