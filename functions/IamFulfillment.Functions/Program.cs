using IamFulfillment.Hosting;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

// Azure Functions isolated worker: the same composition root as the standalone host.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddIamFulfillment(builder.Configuration, HostKind.Functions);
builder.Build().Run();
