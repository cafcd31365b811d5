[assembly: AssemblyFixture(typeof(Storage.Tests.Support.PostgresFixture))]
