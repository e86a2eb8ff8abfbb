using IamFulfillment.Core.Fulfilment;

namespace IamFulfillment.Core.Tests.Fulfilment;

public sealed class DirectoryOperationTests
{
    private static readonly DirectoryOperation[] Operations =
    [
        new AddMember("g-1", "u-1", "Finance reports"),
        new RemoveMember("g-1", "u-1", "Finance reports"),
        new DisableAccount("u-1"),
        new RevokeSessions("u-1"),
        new IssueTemporaryAccessPass("u-1", 60, "m-1", "manager@contoso.example", "Ada Lovelace"),
        new RemoveAuthenticationMethods("u-1"),
    ];

    public static TheoryData<DirectoryOperation> Every() => [.. Operations];

    [Theory]
    [MemberData(nameof(Every))]
    public void OperationOf_ItsOwnStepId_NamesItsType(DirectoryOperation operation) =>
        Assert.Equal(operation.GetType().Name, DirectoryOperation.OperationOf(operation.StepId));

    [Fact]
    public void OperationOf_AStepIdOfNoKnownOperation_IsNull()
    {
        Assert.Null(DirectoryOperation.OperationOf("comment:r-1"));
        Assert.Null(DirectoryOperation.OperationOf("no-colon"));
    }

    [Fact]
    public void SafeToRepeat_OnlyThePassAndTheMethodRemovalAreNot()
    {
        // A second pass replaces the one the manager may have handed on; removing methods again would remove what the
        // person registered with the new pass.
        Assert.Equal([nameof(IssueTemporaryAccessPass), nameof(RemoveAuthenticationMethods)],
            Operations.Where(o => !o.SafeToRepeat).Select(o => o.GetType().Name));
    }
}
