using IamFulfillment.Connectors.ServiceNow;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LocalTimeZoneCollection
{
    public const string Name = "Changes the process time zone";
}

/// <summary>
/// ServiceNow times carry no offset and are UTC. These run the parsing and a whole read with the process's local
/// zone moved away from UTC (TZ on Linux), alone, so nothing else sees the change.
/// </summary>
[Collection(LocalTimeZoneCollection.Name)]
public class ServiceNowTimeZoneTests
{
    [Theory]
    [InlineData("America/New_York")]
    [InlineData("Asia/Kolkata")]
    [InlineData("Pacific/Chatham")]
    public async Task Read_UnderANonUtcLocalZone_StillReadsUtc(string zone)
    {
        var original = Environment.GetEnvironmentVariable("TZ");
        try
        {
            Environment.SetEnvironmentVariable("TZ", zone);
            TimeZoneInfo.ClearCachedData();
            Assert.NotEqual(TimeSpan.Zero, TimeZoneInfo.Local.GetUtcOffset(new DateTime(2026, 3, 31, 17, 0, 0, DateTimeKind.Utc)));

            Assert.Equal(new DateTimeOffset(2026, 3, 31, 17, 0, 0, TimeSpan.Zero), ServiceNowTime.Parse("2026-03-31 17:00:00"));
            Assert.Equal(TimeSpan.Zero, ServiceNowTime.Parse("2026-03-31 17:00:00")!.Value.Offset);
            Assert.Equal("2026-03-31T17:00:00Z", ServiceNowFieldMap.NormaliseValue(RequestFields.TerminationDate, "10", "2026-03-31 17:00:00"));

            using var host = ServiceNowTestHost.Start();
            var org = host.SeedOrg();
            var ritm = host.SeedGrant(org, new Dictionary<string, string> { ["termination_date"] = "2026-03-31 17:00:00" }, types: new Dictionary<string, int> { ["termination_date"] = 10 });
            host.Sandbox.AddApproval(ritm.SysId, org.Carol, "approved", decidedAt: ServiceNowTestHost.T0.AddHours(5));

            var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

            Assert.Equal(ServiceNowTestHost.T0, ticket.CreatedAt);
            Assert.Equal(ServiceNowTestHost.T0.AddHours(5), Assert.Single(ticket.Approvals).DecidedAt);
            Assert.Equal("2026-03-31T17:00:00Z", ticket.Fields[RequestFields.TerminationDate]);
            Assert.Equal("2026-12-31", ticket.Fields[RequestFields.EndDate]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TZ", original);
            TimeZoneInfo.ClearCachedData();
        }
    }

    [Theory]
    [InlineData("2026-03-31T17:00:00Z")]
    [InlineData("31/03/2026 17:00")]
    [InlineData("2026-03-31 17:00")]
    [InlineData("")]
    public void Parse_AnythingButTheExactServiceNowFormat_IsNotATime(string text) => Assert.Null(ServiceNowTime.Parse(text));
}
