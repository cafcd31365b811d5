[assembly: AssemblyFixture(typeof(Storage.Citus.Tests.CitusSchema))]
