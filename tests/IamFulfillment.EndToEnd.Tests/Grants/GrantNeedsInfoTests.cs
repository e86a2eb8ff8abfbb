using IamFulfillment.Core.Decisions;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.EndToEnd.Tests.Grants;

/// <summary>Issue 3: incomplete or unresolvable requests get one comment listing every problem, and nothing changes.</summary>
public sealed class GrantNeedsInfoTests(GrantWorld f) : IClassFixture<GrantWorld>
{
    [Fact]
    public async Task MissingAndInvalidFields_AreAllListedInOneCommentAndTheItemWaitsForTheRequester()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read", justification: null, endDate: "31/12/2026").ApprovedBy("grace");

        var comment = await NeedsInfoAsync(ticket);

        Text.Contains("1. ", comment);
        Text.Contains("2. ", comment);
        Text.Contains("The end date \"31/12/2026\" is not a date", comment);
        Text.Contains("Add a business justification", comment);
        Text.Contains("When you update the request it is checked again automatically.", comment);
    }

    [Theory]
    [InlineData("finance-report-read")]
    [InlineData("Finance-Reports-Read")]
    [InlineData("finance\u2011reports\u2011read")]
    [InlineData("finance-reports-read-all")]
    public async Task UnknownOrLookalikeEntitlement_IsNeverGuessed(string asked)
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, asked).ApprovedBy("grace");

        var comment = await NeedsInfoAsync(ticket);

        Text.Contains($"\"{asked}\" is not an entitlement in the access catalog", comment);
        Assert.False(f.World.Holds(ada, "finance-reports-read"));
    }

    [Fact]
    public async Task TargetWithoutADirectoryAccount_IsNotMatchedToAnyone()
    {
        var hire = f.World.NewHire("Finance", "grace");
        var ticket = f.ServiceNow.Grant(hire, "finance-reports-read", requester: "grace").ApprovedBy("grace");

        var comment = await NeedsInfoAsync(ticket);

        Text.Contains($"No directory account has the email address of {hire.Name} ({hire.Email})", comment);
    }

    [Fact]
    public async Task TargetMatchingTwoDirectoryAccounts_IsNotGuessed()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        f.World.Graph.AddUser(new SandboxUser { UserPrincipalName = "ada.second@contoso.example", Mail = ada.UserPrincipalName, DisplayName = ada.DisplayName });
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read").ApprovedBy("grace");

        var comment = await NeedsInfoAsync(ticket);

        Text.Contains($"2 directory accounts share the email address of {ada.DisplayName}", comment);
        Text.Contains("the service does not guess which one is meant", comment);
        Assert.False(f.World.Holds(ada, "finance-reports-read"));
    }

    [Fact]
    public async Task ContractorWithoutAnEndDate_IsAskedForOne()
    {
        var alan = f.World.NewEmployee("Finance", "grace").InDirectory(f.World, u => u.EmployeeType = "Contractor");
        var ticket = f.ServiceNow.Grant(alan, "finance-reports-read").ApprovedBy("grace");

        var comment = await NeedsInfoAsync(ticket);

        Text.Contains("Add an end date: it is required because the person is a contractor", comment);
    }

    [Fact]
    public async Task EndDateBeyondTheLongestAllowedDuration_IsAskedToBeShortened()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read", endInDays: 400).ApprovedBy("grace");

        var comment = await NeedsInfoAsync(ticket);

        Text.Contains("Finance reports (read) can be granted for at most 365 days", comment);
    }

    /// <summary>Runs the ticket and checks the NeedsInfo write-back: pending state, exactly one comment, no directory change.</summary>
    private async Task<string> NeedsInfoAsync(ServiceNowTicket ticket)
    {
        var changes = new ChangeWatch(f.World.Graph);
        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.NeedsInfo, state.Outcome);
        Assert.Equal(Rules.Incomplete, state.Rule);
        Assert.Equal("-5", ticket.State);
        Assert.Equal(0, changes.Made.DirectoryChanges);
        Text.Contains("NEEDS INFO", ticket.Note);
        return ticket.Comment;
    }
}
