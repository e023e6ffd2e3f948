global using System.Net;
global using System.Net.Http.Json;
global using System.Text.Json;
global using Api.IntegrationTests.Infrastructure;
global using Microsoft.EntityFrameworkCore;
