using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.EndToEnd.Tests.Grants;

/// <summary>
/// The demo organisation plus catalog entries the service must never fulfil itself (a role-assignable group, a
/// dynamic group, a group nested in the privileged production-admins group) and one entitlement in shadow mode.
/// </summary>
public sealed class GrantWorld : WorldFixture
{
    public static readonly string HelpdeskAdminsGroup = DemoOrganisation.Guid(101);
    public static readonly string OpsDashboardsGroup = DemoOrganisation.Guid(102);
    public static readonly string ForecastsGroup = DemoOrganisation.Guid(103);

    public ServiceNowDesk ServiceNow => new(World);

    public static string Group(string name) => DemoOrganisation.Groups[name];

    protected override void Seed(SandboxWorld world)
    {
        world.Graph.AddGroup(new SandboxGroup { Id = HelpdeskAdminsGroup, DisplayName = "helpdesk-admins", IsAssignableToRole = true });
        world.Graph.AddGroup(new SandboxGroup { Id = OpsDashboardsGroup, DisplayName = "ops-dashboards" });
        world.Graph.AddMember(DemoOrganisation.Groups["prod-admins"], OpsDashboardsGroup);
        world.Graph.AddGroup(new SandboxGroup { Id = ForecastsGroup, DisplayName = "finance-forecasts" });
    }

    protected override void EditPolicy(PolicyEditor policy) => policy
        .AddEntitlement("helpdesk-admins", "Helpdesk administrators", HelpdeskAdminsGroup)
        .AddEntitlement("all-staff", "All staff", DemoOrganisation.Groups["all-staff"])
        .AddEntitlement("ops-dashboards", "Operations dashboards", OpsDashboardsGroup)
        .AddEntitlement("finance-forecasts", "Finance forecasts", ForecastsGroup, dryRun: true);
}
