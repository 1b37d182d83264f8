"""Student training: TRL SFT stages (KnowDist, ICLDist, unified) and their params."""
