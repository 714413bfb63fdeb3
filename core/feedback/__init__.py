"""Citizens' feedback and petitions (phản ánh, kiến nghị) on procedures and services."""
