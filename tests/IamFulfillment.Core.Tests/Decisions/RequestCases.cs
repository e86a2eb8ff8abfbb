using IamFulfillment.Core.Decisions;
using static IamFulfillment.Core.Tests.Decisions.Expect;
using static IamFulfillment.Core.Tests.Decisions.Org;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>Rules that hold for every request: its type, and the policy version every decision records.</summary>
public sealed class RequestCases
{
    private static readonly List<DecisionCase> Cases =
    [
        new("Request_UnknownType_NeedsInfo",
            s => s.UnparsedType("AccessGrnt", "The request type \"AccessGrnt\" is not one this service handles."),
            NeedsInfo("The request type \"AccessGrnt\" is not one this service handles.")),
        new("Request_NoType_NeedsInfo",
            s => s.UnparsedType(null),
            NeedsInfo("Say what kind of request this is (access grant, access removal, joiner, mover, leaver or MFA reset).")),
        new("Request_NoTypeAndNoTarget_AllProblemsAtOnce",
            s => s.UnparsedType(null).For(null).OpenedBy(null),
            NeedsInfo("Say who the request is for", "The ticket does not say who opened it", "Say what kind of request this is")),
        new("Request_DecisionRecordsTheVersionOfThePolicyInForce",
            s => s.Grant(Ent.Crm).Approved(Mark).WithPolicy(p => p with { Version = "sha256:fedcba9876543210" }),
            Fulfilled(Step.Add(Ent.Crm))),
        new("Request_RejectionRecordsThePolicyVersionToo",
            s => s.Grant(Ent.Crm).Rejected(Mark, null).WithPolicy(p => p with { Version = "sha256:00000000000000aa" }),
            Rejected(Rules.ApprovalRejected, "Mark Miller rejected the request: no reason given.")),
    ];

    public static TheoryData<CaseName> Names => DecisionCase.NamesOf(Cases);

    [Theory]
    [MemberData(nameof(Names))]
    public void Decide(CaseName name) => DecisionCase.Run(Cases, name);
}
