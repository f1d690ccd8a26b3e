global using Microsoft.EntityFrameworkCore;
global using NUnit.Framework;
