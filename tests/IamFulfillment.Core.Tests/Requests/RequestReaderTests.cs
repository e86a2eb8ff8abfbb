using IamFulfillment.Core.Model;
using IamFulfillment.Core.Requests;

namespace IamFulfillment.Core.Tests.Requests;

public sealed class RequestReaderTests
{
    private const string PolicyZone = "Europe/Berlin";

    private static readonly ItsmPerson Alice = new("sn-alice", "Alice Archer", "alice@contoso.com");
    private static readonly ItsmPerson Rita = new("sn-rita", "Rita Reyes", "rita@contoso.com");

    private static AccessRequest Read(params (string Field, string? Value)[] fields) =>
        RequestReader.Read(new TicketSnapshot
        {
            Ref = new TicketRef(TicketSystemKind.Jira, "IAM-42"),
            Number = "IAM-42",
            Status = TicketStatus.Open,
            RawState = "Open",
            OpenedBy = Rita,
            People = new Dictionary<string, ItsmPerson> { [RequestFields.RequestedFor] = Alice },
            Fields = fields.ToDictionary(f => f.Field, f => f.Value),
        }, PolicyZone);

    [Fact]
    public void Read_DateOnly_IsMidnightInThePolicyZone()
    {
        var request = Read((RequestFields.EndDate, "2026-12-31"));
        Assert.Equal(new DateTimeOffset(2026, 12, 31, 0, 0, 0, TimeSpan.FromHours(1)), request.EndDate);
        Assert.Empty(request.ParseProblems);
    }

    [Theory]
    [InlineData("2026-12-01T09:00:00+05:30", 2026, 12, 1, 9, 0, 5.5)]
    [InlineData("2026-12-01T09:00:00Z", 2026, 12, 1, 9, 0, 0)]
    [InlineData("2026-12-01T09:00:00.125-08:00", 2026, 12, 1, 9, 0, -8)]
    [InlineData("2026-12-01T09:00+01:00", 2026, 12, 1, 9, 0, 1)]
    public void Read_DateTimeWithOffset_KeepsTheOffset(string text, int y, int mo, int d, int h, int mi, double offsetHours)
    {
        var request = Read((RequestFields.StartDate, text));
        var expected = new DateTimeOffset(y, mo, d, h, mi, 0, TimeSpan.FromHours(offsetHours));
        Assert.Equal(expected, request.StartDate?.AddTicks(-(request.StartDate.Value.Ticks % TimeSpan.TicksPerSecond)));
        Assert.Equal(TimeSpan.FromHours(offsetHours), request.StartDate!.Value.Offset);
    }

    [Theory]
    [InlineData("2026-12-01T09:00:00")]
    [InlineData("2026-12-01T09:00")]
    [InlineData("2026-12-01 09:00:00")]
    [InlineData("2026-12-01 09:00")]
    public void Read_LocalDateTime_IsPlacedInTheTicketsTimeZone(string text)
    {
        // Winter in New York: UTC-5, whatever zone the machine running the service is in.
        var request = Read((RequestFields.TerminationDate, text), (RequestFields.TimeZone, "America/New_York"));
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.FromHours(-5)), request.TerminationAt);
        Assert.Equal(TimeSpan.FromHours(-5), request.TerminationAt!.Value.Offset);
        Assert.Empty(request.ParseProblems);
    }

    [Fact]
    public void Read_LocalDateTimeWithoutTicketZone_UsesThePolicyZoneWithDaylightSaving()
    {
        var request = Read((RequestFields.TerminationDate, "2026-07-01T17:30:00"));
        Assert.Equal(new DateTimeOffset(2026, 7, 1, 17, 30, 0, TimeSpan.FromHours(2)), request.TerminationAt);
    }

    [Fact]
    public void Read_UnknownTimeZone_IsAProblemAndFallsBackToUtc()
    {
        var request = Read((RequestFields.TerminationDate, "2026-12-01T09:00:00"), (RequestFields.TimeZone, "Mars/Olympus_Mons"));
        Assert.Contains("The time zone \"Mars/Olympus_Mons\" is not a known time zone (use a name like Europe/London).", request.ParseProblems);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero), request.TerminationAt);
    }

    [Theory]
    [InlineData("next monday")]
    [InlineData("31/12/2026")]
    [InlineData("2026-13-01")]
    [InlineData("2026-12-01T25:00:00")]
    public void Read_NotADate_IsAProblemInPlainWords(string text)
    {
        var request = Read((RequestFields.EndDate, text));
        Assert.Null(request.EndDate);
        Assert.Equal($"The end date \"{text}\" is not a date (expected a date such as 2026-12-31).", Assert.Single(request.ParseProblems));
    }

    [Fact]
    public void Read_EveryUnparseableFieldIsReportedAtOnce()
    {
        var request = Read((RequestFields.StartDate, "soon"), (RequestFields.EndDate, "later"), (RequestFields.RequestType, "Give me access"));
        Assert.Equal(3, request.ParseProblems.Count);
    }

    [Fact]
    public void Read_UnknownRequestType_IsAProblemAndKeepsTheRawText()
    {
        var request = Read((RequestFields.RequestType, "AccessGrnt"));
        Assert.Null(request.Type);
        Assert.Equal("AccessGrnt", request.RawType);
        Assert.Equal("The request type \"AccessGrnt\" is not one this service handles.", Assert.Single(request.ParseProblems));
    }

    [Theory]
    [InlineData("AccessGrant", RequestType.AccessGrant)]
    [InlineData("accessremoval", RequestType.AccessRemoval)]
    [InlineData(" Leaver ", RequestType.Leaver)]
    [InlineData("MFARESET", RequestType.MfaReset)]
    public void Read_RequestTypeByExactNameIgnoringCase(string text, RequestType expected) =>
        Assert.Equal(expected, Read((RequestFields.RequestType, text)).Type);

    [Theory]
    [InlineData("Access Grant")]
    [InlineData("Grant")]
    [InlineData("0")]
    public void Read_RequestTypeAliasesAndNumbers_AreNotGuessed(string text) =>
        Assert.Null(Read((RequestFields.RequestType, text)).Type);

    [Fact]
    public void Read_PeopleComeFromTheTicketRecordNotFromText()
    {
        var request = Read((RequestFields.Justification, "For Bob, opened by Carol"));
        Assert.Equal(Alice, request.RequestedFor);
        Assert.Equal(Rita, request.Requester);
    }

    [Fact]
    public void SplitEntitlements_CommasSemicolonsAndNewLines_KeepEachIdExactly()
    {
        var ids = RequestReader.SplitEntitlements(" crm-users, sales-reports;vendor-portal\r\nCRM-Users\n\n ,crm-users ,\u0441rm-users");
        Assert.Equal(["crm-users", "sales-reports", "vendor-portal", "CRM-Users", "\u0441rm-users"], ids);
    }

    [Fact]
    public void SplitEntitlements_KeepsInnerSpacesAndInvisibleCharacters()
    {
        var ids = RequestReader.SplitEntitlements("crm -users, crm\u200B-users");
        Assert.Equal(["crm -users", "crm\u200B-users"], ids);
    }

    [Fact]
    public void SplitEntitlements_TrimsOnlyOrdinarySpaces_NotUnicodeSpaces()
    {
        var ids = RequestReader.SplitEntitlements("\tcrm-users \r\n, crm-users\u00A0,\u3000sales-reports");
        Assert.Equal(["crm-users", "crm-users\u00A0", "\u3000sales-reports"], ids);
    }

    [Fact]
    public void Read_EntitlementField_KeepsUnicodeSpacesAtItsEnds() =>
        Assert.Equal(["\u00A0crm-users", "sales-reports\u2003"], Read((RequestFields.Entitlements, "\u00A0crm-users, sales-reports\u2003")).EntitlementIds);

    [Fact]
    public void SplitEntitlements_Nothing_IsEmpty()
    {
        Assert.Empty(RequestReader.SplitEntitlements(null));
        Assert.Empty(RequestReader.SplitEntitlements(" ,; \n"));
    }
}
